//! The same operations through Rust's std::fs (wasi-libc underneath): write, read, metadata,
//! copy, append, errors as io::ErrorKind.
use std::fs;
use std::io::Write;

fn main() {
    println!("read_to_string -> {:?}", fs::read_to_string("/hello.txt"));
    println!(
        "relative read -> {:?}",
        fs::read_to_string("data/numbers.txt")
    );
    println!("write -> {:?}", fs::write("/out.txt", "written by std\n"));
    println!(
        "metadata len -> {:?}",
        fs::metadata("/out.txt").map(|m| m.len())
    );
    println!("is_dir -> {:?}", fs::metadata("/data").map(|m| m.is_dir()));
    println!(
        "symlink_metadata -> {:?}",
        fs::symlink_metadata("/link_hello").map(|m| m.file_type().is_symlink())
    );
    println!("copy -> {:?}", fs::copy("/hello.txt", "/copy.txt"));
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open("/copy.txt")
        .unwrap();
    println!("append -> {:?}", f.write_all(b"appended\n"));
    drop(f);
    println!("read copy -> {:?}", fs::read_to_string("/copy.txt"));
    println!(
        "missing -> {:?}",
        fs::read("/missing").map_err(|e| e.kind())
    );
    println!(
        "read dir as file -> {:?}",
        fs::read("/data").map_err(|e| e.kind())
    );
    println!(
        "create_new existing -> {:?}",
        fs::File::create_new("/hello.txt").map_err(|e| e.kind())
    );
    println!("remove_file -> {:?}", fs::remove_file("/out.txt"));
    println!(
        "canonicalize -> {:?}",
        fs::canonicalize("/data").map_err(|e| e.kind())
    );
    println!("exists -> {:?}", fs::exists("/copy.txt"));
}
