use super::*;

fn image(ep: &[&str], cmd: &[&str]) -> ImageConfig {
    ImageConfig {
        entrypoint: ep.iter().map(|s| s.to_string()).collect(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn v(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

#[test]
fn command_replaces_entrypoint_and_drops_image_cmd() {
    let img = image(&["/ep"], &["cmd1"]);
    assert_eq!(
        resolve_args(&img, &v(&["/bin/sh"]), &[]).unwrap(),
        v(&["/bin/sh"])
    );
    assert_eq!(
        resolve_args(&img, &v(&["/bin/sh"]), &v(&["-c", "x"])).unwrap(),
        v(&["/bin/sh", "-c", "x"])
    );
}

#[test]
fn args_alone_keep_entrypoint() {
    let img = image(&["/ep"], &["cmd1"]);
    assert_eq!(
        resolve_args(&img, &[], &v(&["a"])).unwrap(),
        v(&["/ep", "a"])
    );
    assert_eq!(resolve_args(&img, &[], &[]).unwrap(), v(&["/ep", "cmd1"]));
    assert!(resolve_args(&image(&[], &[]), &[], &[]).is_err());
}

#[test]
fn container_env_overrides_image_env_in_place() {
    let env = merge_env(
        &v(&["PATH=/bin", "A=1", "B=2"]),
        &[("A".into(), "x".into()), ("C".into(), "3".into())],
        &[("PATH", "/nope"), ("HOME", "/root")],
    );
    assert_eq!(env, v(&["PATH=/bin", "A=x", "B=2", "C=3", "HOME=/root"]));
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n";
const GROUP: &str = "root:x:0:\nwheel:x:10:app,other\napp:x:1000:\nnogroup:x:65534:\n";

#[test]
fn user_names_resolve_through_passwd_and_group() {
    let id = resolve_user("app", Some(PASSWD), Some(GROUP), None, None, &[5]).unwrap();
    assert_eq!((id.uid, id.gid), (1000, 1000));
    assert_eq!(id.additional_gids, vec![10, 5]);
    assert_eq!(id.home, "/home/app");
    let id = resolve_user("nobody:wheel", Some(PASSWD), Some(GROUP), None, None, &[]).unwrap();
    assert_eq!((id.uid, id.gid), (65534, 10));
    let id = resolve_user("1234:55", None, None, None, None, &[]).unwrap();
    assert_eq!((id.uid, id.gid, id.home.as_str()), (1234, 55, "/"));
    let id = resolve_user("", Some(PASSWD), None, None, None, &[]).unwrap();
    assert_eq!((id.uid, id.gid, id.home.as_str()), (0, 0, "/root"));
}

#[test]
fn run_as_user_overrides_image_user() {
    let id = resolve_user("app", Some(PASSWD), Some(GROUP), Some(65534), Some(7), &[]).unwrap();
    assert_eq!((id.uid, id.gid), (65534, 7));
}

#[test]
fn unknown_user_name_is_a_clear_error() {
    let err = resolve_user("ghost", Some(PASSWD), None, None, None, &[]).unwrap_err();
    assert!(
        err.to_string().contains("unable to find user ghost"),
        "{err}"
    );
    assert!(resolve_user("app:ghosts", Some(PASSWD), Some(GROUP), None, None, &[]).is_err());
}

#[test]
fn lookup_path_searches_inside_root() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bin")).unwrap();
    let f = dir.path().join("bin/tool");
    std::fs::write(&f, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = v(&["PATH=/usr/bin:/bin"]);
    assert_eq!(
        lookup_path(dir.path(), "tool", &env).as_deref(),
        Some("/bin/tool")
    );
    assert_eq!(lookup_path(dir.path(), "missing", &env), None);
    assert_eq!(
        lookup_path(dir.path(), "/x/y", &env).as_deref(),
        Some("/x/y")
    );
}
