//! The real kubectl, one of the installed versions, pointed at a test server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where the real kubectl binaries live (`kubectl.1.27` … `kubectl.1.33`).
pub const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

/// Versions every kubectl test runs against: the oldest and newest supported.
pub const VERSIONS: [&str; 2] = ["1.27", "1.33"];

pub struct Kubectl {
    pub bin: PathBuf,
    pub kubeconfig: PathBuf,
    pub version: String,
}

impl Kubectl {
    pub fn new(version: &str, kubeconfig: &Path) -> Kubectl {
        let bin = std::env::var("SKIFF_KUBECTL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(KUBECTL_DIR));
        Kubectl {
            bin: bin.join(format!("kubectl.{version}")),
            kubeconfig: kubeconfig.to_path_buf(),
            version: version.into(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env(
                "HOME",
                self.kubeconfig.parent().unwrap_or(Path::new("/tmp")),
            )
            .env_remove("KUBECTL_EXTERNAL_DIFF");
        c
    }

    /// Run with arguments; the raw output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, None)
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.bin.display()))
    }

    pub fn run_stdin(&self, args: &[&str], input: Option<&str>) -> Output {
        let mut c = self.command(args);
        c.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.bin.display()));
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            let _ = stdin.write_all(text.as_bytes());
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for kubectl: {e}"))
    }

    /// Run and insist on success; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_stdin(args, None)
    }

    pub fn ok_stdin(&self, args: &[&str], input: Option<&str>) -> String {
        let out = self.run_stdin(args, input);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kubectl {} {} failed ({}):\nstdout: {stdout}\nstderr: {}",
            self.version,
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Run and insist on failure; stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        self.fails_stdin(args, None)
    }

    pub fn fails_stdin(&self, args: &[&str], input: Option<&str>) -> String {
        let out = self.run_stdin(args, input);
        assert!(
            !out.status.success(),
            "kubectl {} {} unexpectedly succeeded:\n{}",
            self.version,
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}
