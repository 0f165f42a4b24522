//! Directories through std::fs: create_dir_all, read_dir (sorted), remove_dir_all, and the
//! ErrorKinds of the common mistakes.
use std::fs;

fn main() {
    println!("create_dir_all -> {:?}", fs::create_dir_all("/t/a/b/c"));
    println!("write -> {:?}", fs::write("/t/a/b/c/f", "x"));
    println!("write -> {:?}", fs::write("/t/a/g", "y"));
    let mut names: Vec<String> = fs::read_dir("/t/a")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    println!("read_dir /t/a -> {names:?}");
    let mut root: Vec<(String, bool)> = fs::read_dir("/")
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                e.file_type().unwrap().is_dir(),
            )
        })
        .collect();
    root.sort();
    println!("read_dir / -> {root:?}");
    println!(
        "remove_dir non-empty -> {:?}",
        fs::remove_dir("/t/a").map_err(|e| e.kind())
    );
    println!("remove_dir_all -> {:?}", fs::remove_dir_all("/t/a"));
    println!("exists after -> {:?}", fs::exists("/t/a"));
    println!(
        "create_dir existing -> {:?}",
        fs::create_dir("/t").map_err(|e| e.kind())
    );
    println!(
        "read_dir file -> {:?}",
        fs::read_dir("/hello.txt").map(|_| ()).map_err(|e| e.kind())
    );
    println!(
        "read_dir missing -> {:?}",
        fs::read_dir("/missing").map(|_| ()).map_err(|e| e.kind())
    );
}
