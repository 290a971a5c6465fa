use super::*;

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn complete_lines_are_full_entries_and_partials_wait() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.log");
    let mut w = LogWriter::open(
        &p,
        Rotation {
            max_size: 0,
            max_files: 1,
        },
    )
    .unwrap();
    w.write(Stream::Stdout, b"hello\nwor").unwrap();
    w.write(Stream::Stderr, b"oops\n").unwrap();
    w.write(Stream::Stdout, b"ld\n").unwrap();
    w.write(Stream::Stdout, b"tail").unwrap();
    w.finish(Stream::Stdout).unwrap();
    let got: Vec<(Stream, bool, String)> = lines(&p)
        .iter()
        .map(|l| {
            let e = parse_line(l).unwrap();
            (e.stream, e.partial, e.text.to_string())
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Stream::Stdout, false, "hello".into()),
            (Stream::Stderr, false, "oops".into()),
            (Stream::Stdout, false, "world".into()),
            (Stream::Stdout, false, "tail".into()),
        ]
    );
    let first = lines(&p)[0].clone();
    let ts = first.split(' ').next().unwrap();
    assert!(
        ts.ends_with('Z') && ts.len() == "2016-10-06T00:17:09.669794202Z".len(),
        "{ts}"
    );
}

#[test]
fn long_lines_are_split_into_partial_entries() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.log");
    let mut w = LogWriter::open(
        &p,
        Rotation {
            max_size: 0,
            max_files: 1,
        },
    )
    .unwrap();
    let mut data = vec![b'x'; MAX_LINE + 10];
    data.push(b'\n');
    w.write(Stream::Stdout, &data).unwrap();
    let l = lines(&p);
    assert_eq!(l.len(), 2);
    assert!(parse_line(&l[0]).unwrap().partial);
    let last = parse_line(&l[1]).unwrap();
    assert!(!last.partial);
    assert_eq!(last.text.len(), 10);
}

#[test]
fn rotation_keeps_max_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.log");
    let mut w = LogWriter::open(
        &p,
        Rotation {
            max_size: 200,
            max_files: 3,
        },
    )
    .unwrap();
    for i in 0..40 {
        w.write(Stream::Stdout, format!("line number {i}\n").as_bytes())
            .unwrap();
    }
    assert!(p.exists());
    assert!(dir.path().join("c.log.1").exists());
    assert!(dir.path().join("c.log.2").exists());
    assert!(!dir.path().join("c.log.3").exists());
    assert!(std::fs::metadata(&p).unwrap().len() < 200);
    let mut newest = lines(&p);
    if newest.is_empty() {
        newest = lines(&dir.path().join("c.log.1"));
    }
    assert!(
        newest.last().unwrap().ends_with("line number 39"),
        "{newest:?}"
    );
}

#[test]
fn garbage_is_not_a_log_line() {
    assert!(parse_line("nope").is_none());
    assert!(parse_line("2016-10-06T00:17:09.669794202Z stdin F x").is_none());
}
