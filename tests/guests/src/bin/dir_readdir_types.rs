//! The d_type of every kind of entry (file, dir, symlink to file, symlink to dir, dangling),
//! d_namlen of long and non-ASCII names, and that d_ino agrees with filestat's ino.
use guest::*;

fn main() {
    symlink("nowhere", "dangling").unwrap();
    put("héllo wörld.txt", b"x").unwrap();
    put(&"n".repeat(200), b"x").unwrap();
    let fd = open_dir(".").unwrap();
    let mut entries = readdir_all(fd, 128).unwrap();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    for e in &entries {
        let name = if e.name.len() > 20 {
            format!("{}..({} bytes)", &e.name[..4], e.name.len())
        } else {
            e.name.clone()
        };
        println!("{name} -> {:?}", e.filetype);
    }
    let mut ino_ok = true;
    for e in entries.iter().filter(|e| e.name != "." && e.name != "..") {
        let st = lstat(&e.name).unwrap();
        ino_ok &= st.ino == e.ino;
    }
    println!("d_ino matches filestat ino -> {ino_ok}");
}
