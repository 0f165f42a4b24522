mod support;
#[test]
fn dump() {
    let out = std::path::Path::new("/tmp/ref");
    std::fs::create_dir_all(out).unwrap();
    let only = std::env::var("ONLY").ok();
    for name in support::guest_names() {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let mut sc = support::Scenario::new(&name);
        if name == "proc_exit_code" {
            sc = sc.arg("42");
        }
        if name.starts_with("stdio") || name == "poll_fd" {
            sc = sc.stdin("abcdefghij-the-rest");
        }
        let r = support::run_wasmtime(&name, &sc);
        std::fs::write(out.join(format!("{name}.txt")), format!("{r:?}")).unwrap();
        if std::env::var("WARDEN").is_ok() {
            let r = support::run_warden(&name, &sc);
            std::fs::write(out.join(format!("{name}.warden.txt")), format!("{r:?}")).unwrap();
        }
    }
}
