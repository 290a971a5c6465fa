//! The Kubernetes REST API server: TLS, authentication, discovery, OpenAPI and one generic
//! REST handler serving every kind in `skiff_api::registry()` from a `skiff_store::Store`.

pub mod admission;
pub mod alloc;
pub mod authn;
pub mod bootstrap;
pub mod discovery;
pub mod join;
pub mod namespace;
pub mod openapi;
pub mod pki;
pub mod protobuf;
pub mod proxy;
pub mod request;
pub mod rest;
pub mod server;
pub mod status;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use skiff_store::Store;

/// Settings of `skiff server` that the API server uses.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub bind_address: IpAddr,
    pub https_port: u16,
    /// Extra names and addresses for the serving certificate.
    pub tls_sans: Vec<String>,
    /// Static bearer tokens (csv: token,user,uid,"group1,group2").
    pub token_file: Option<PathBuf>,
    pub service_cidr: alloc::Cidr,
    /// Where to write the admin kubeconfig (default `<data-dir>/kubeconfig.yaml`).
    pub kubeconfig: Option<PathBuf>,
}

/// A started API server.
pub struct Running {
    pub addr: SocketAddr,
    pub kubeconfig: PathBuf,
    pub api: Arc<rest::Api>,
    pub pki: Arc<pki::Pki>,
    /// The join token agents use (`skiff agent --token`).
    pub token: String,
}

/// Open the datastore (SQLite under the data dir).
pub fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let dir = config.data_dir.join("db");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("state.db");
    let store = skiff_store::sqlite::SqliteStore::open(&path)
        .with_context(|| format!("opening the datastore {}", path.display()))?;
    Ok(Arc::new(store))
}

/// Start serving on `config`'s address with `store`; returns once the API answers.
pub async fn start(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let mut sans = config.tls_sans.clone();
    sans.push(config.service_cidr.nth(1).to_string());
    let pki = Arc::new(
        pki::Pki::load_or_create(&config.data_dir, &sans)
            .context("setting up the cluster certificates")?,
    );
    let token = pki::load_or_create_token(&config.data_dir).context("creating the join token")?;
    let joiner = join::Joiner::new(pki.clone(), &token)?;
    let tls = tokio_rustls::TlsAcceptor::from(
        pki.server_config()
            .context("building the TLS configuration")?,
    );
    let kubelet =
        proxy::KubeletClient::new(&pki).context("issuing the kubelet client certificate")?;
    let authn = authn::Authenticator::new(config.token_file.as_deref())
        .context("loading the token file")?;
    let listener = tokio::net::TcpListener::bind((config.bind_address, config.https_port))
        .await
        .with_context(|| {
            format!(
                "binding {}:{} (is another server running? use --https-port)",
                config.bind_address, config.https_port
            )
        })?;
    let addr = listener.local_addr()?;
    let kubeconfig = config
        .kubeconfig
        .clone()
        .unwrap_or_else(|| config.data_dir.join("kubeconfig.yaml"));
    let url_host = if config.bind_address.is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        config.bind_address.to_string()
    };
    let url_host = if url_host.contains(':') {
        format!("[{url_host}]")
    } else {
        url_host
    };
    pki::write_kubeconfig(
        &kubeconfig,
        &format!("https://{url_host}:{}", addr.port()),
        &pki,
    )
    .with_context(|| format!("writing {}", kubeconfig.display()))?;

    let api = Arc::new(rest::Api {
        store: store.clone(),
        services: alloc::ServiceAllocator::new(config.service_cidr),
    });
    let host_ip = host_address(config.bind_address);
    bootstrap::run(&api, &host_ip, addr.port())
        .await
        .context("creating the default namespaces and services")?;
    let server = Arc::new(server::Server {
        api: api.clone(),
        authn,
        tls,
        joiner,
        kubelet,
    });
    tokio::spawn(server.serve(listener));
    tokio::spawn(namespace::run(api.clone()));
    skiff_store::spawn_compactor(
        store,
        Duration::from_secs(60),
        skiff_store::DEFAULT_KEEP_REVISIONS,
    );
    openapi::warm_up();
    Ok(Running {
        addr,
        kubeconfig,
        api,
        pki,
        token,
    })
}

/// The address other machines reach this one at (for the `kubernetes` Endpoints).
fn host_address(bind: IpAddr) -> String {
    if bind.is_unspecified() {
        primary_address()
    } else {
        bind
    }
    .to_string()
}

/// This machine's primary address: the source address of a (never sent) UDP "connection".
pub fn primary_address() -> IpAddr {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("10.255.255.255:9").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}
