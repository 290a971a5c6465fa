//! API server benchmark: time to /readyz, creates/s (1 and 32 clients), LIST latency at 10k and
//! 100k pods, watch fan-out to 100 watchers, server RSS idle and loaded.
//!
//! Usage: `cargo run --release -p skiff-bench --bin apibench -- [--pods 100000] [--quick]`
//! (build `skiff` in release first: `cargo build --release -p skiff`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skiff_bin() -> PathBuf {
    std::env::var("SKIFF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| skiff_testkit::workspace_bin("skiff"))
}

/// Start a server; returns it and the time from exec to the first 200 on /readyz.
async fn start_server() -> anyhow::Result<(Server, Duration)> {
    let dir = tempfile::tempdir()?;
    let port = skiff_testkit::free_port()?;
    let t0 = Instant::now();
    let child = Command::new(skiff_bin())
        .args(["server", "--data-dir"])
        .arg(dir.path())
        .args([
            "--https-port",
            &port.to_string(),
            "--bind-address",
            "127.0.0.1",
        ])
        .env("SKIFF_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting skiff server (build it with cargo build --release -p skiff)")?;
    let probe = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()?;
    let base = format!("https://127.0.0.1:{port}");
    loop {
        if let Ok(r) = probe.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            break;
        }
        if t0.elapsed() > Duration::from_secs(20) {
            bail!("server not ready in 20s");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let ready = t0.elapsed();
    let kubeconfig = dir.path().join("kubeconfig.yaml");
    Ok((
        Server {
            child,
            base,
            kubeconfig,
            _dir: dir,
        },
        ready,
    ))
}

/// An HTTPS client authenticated with the kubeconfig's admin certificate.
fn client(kubeconfig: &Path) -> anyhow::Result<reqwest::Client> {
    use base64::Engine;
    let text = std::fs::read_to_string(kubeconfig)?;
    let kc: Value = serde_saphyr::from_str(&text).context("parsing kubeconfig")?;
    let b64 = |v: &Value| -> anyhow::Result<Vec<u8>> {
        Ok(base64::engine::general_purpose::STANDARD
            .decode(v.as_str().context("missing field")?)?)
    };
    let ca = b64(&kc["clusters"][0]["cluster"]["certificate-authority-data"])?;
    let mut ident = b64(&kc["users"][0]["user"]["client-certificate-data"])?;
    ident.extend(b64(&kc["users"][0]["user"]["client-key-data"])?);
    Ok(reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
        .identity(reqwest::Identity::from_pem(&ident)?)
        .pool_max_idle_per_host(64)
        .build()?)
}

fn pod(name: &str) -> Value {
    json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":name,"labels":{"app":"bench"}},
           "spec":{"containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}})
}

/// Create `n` pods named `{prefix}-{i}` with `clients` concurrent clients; returns creates/s.
async fn create_pods(
    c: &reqwest::Client,
    base: &str,
    prefix: &str,
    n: usize,
    clients: usize,
) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (c, next, url, prefix) = (
            c.clone(),
            next.clone(),
            format!("{base}/api/v1/namespaces/default/pods"),
            prefix.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(());
                }
                let r = c
                    .post(&url)
                    .json(&pod(&format!("{prefix}-{i}")))
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!("create failed: {}", r.text().await.unwrap_or_default());
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(n as f64 / t0.elapsed().as_secs_f64())
}

async fn list_latency(c: &reqwest::Client, base: &str, runs: usize) -> anyhow::Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let body = c
            .get(format!("{base}/api/v1/pods"))
            .send()
            .await?
            .bytes()
            .await?;
        times.push(t0.elapsed());
        anyhow::ensure!(body.len() > 2, "empty list");
    }
    Ok(median(times))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// 100 watchers on pods; time until every watcher has seen `n` new pods.
async fn watch_fanout(
    c: &reqwest::Client,
    base: &str,
    watchers: usize,
    n: usize,
) -> anyhow::Result<Duration> {
    let rv = c
        .get(format!("{base}/api/v1/namespaces/default/pods?limit=1"))
        .send()
        .await?
        .json::<Value>()
        .await?["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .to_string();
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..watchers {
        let url = format!(
            "{base}/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}&labelSelector=fan%3Dout"
        );
        let resp = c.get(url).send().await?;
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = resp.bytes_stream();
            let mut seen = 0;
            let mut buf = Vec::new();
            while let Some(Ok(chunk)) = stream.next().await {
                buf.extend_from_slice(&chunk);
                seen += buf.iter().filter(|b| **b == b'\n').count();
                buf.retain(|_| false);
                if seen >= n {
                    done.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }));
    }
    let t0 = Instant::now();
    let url = format!("{base}/api/v1/namespaces/default/pods");
    for i in 0..n {
        let mut p = pod(&format!("fan-{i}"));
        p["metadata"]["labels"]["fan"] = json!("out");
        c.post(&url).json(&p).send().await?;
    }
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(60), t).await;
    }
    anyhow::ensure!(
        done.load(Ordering::Relaxed) == watchers,
        "not every watcher saw every event"
    );
    Ok(t0.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let big: usize = args
        .iter()
        .position(|a| a == "--pods")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(if quick { 10_000 } else { 100_000 });

    let mut ready = Vec::new();
    for _ in 0..if quick { 3 } else { 10 } {
        let (_s, t) = start_server().await?;
        ready.push(t);
    }
    println!(
        "time to /readyz (fresh data dir): median {:.1} ms",
        median(ready).as_secs_f64() * 1e3
    );

    let (s, _) = start_server().await?;
    let c = client(&s.kubeconfig)?;
    let pid = s.child.id();
    println!("server RSS idle: {:.1} MiB", rss_mib(pid));
    let n = if quick { 500 } else { 2000 };
    println!(
        "creates/s, 1 client: {:.0}",
        create_pods(&c, &s.base, "one", n, 1).await?
    );
    println!(
        "creates/s, 32 clients: {:.0}",
        create_pods(&c, &s.base, "many", n * 4, 32).await?
    );
    let fan = watch_fanout(&c, &s.base, 100, if quick { 100 } else { 1000 }).await?;
    println!(
        "watch fan-out, 100 watchers x {} events: {:.0} ms",
        if quick { 100 } else { 1000 },
        fan.as_secs_f64() * 1e3
    );
    let have = n * 5 + if quick { 100 } else { 1000 };
    if have < 10_000 {
        create_pods(&c, &s.base, "fill", 10_000 - have, 32).await?;
    }
    println!(
        "LIST all pods at 10k: median {:.0} ms",
        list_latency(&c, &s.base, 5).await?.as_secs_f64() * 1e3
    );
    if big > 10_000 {
        create_pods(&c, &s.base, "bulk", big - 10_000, 32).await?;
        println!(
            "LIST all pods at {}k: median {:.0} ms",
            big / 1000,
            list_latency(&c, &s.base, 3).await?.as_secs_f64() * 1e3
        );
    }
    println!(
        "server RSS with {}k pods: {:.1} MiB",
        big.max(10_000) / 1000,
        rss_mib(pid)
    );
    Ok(())
}
