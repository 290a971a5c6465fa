//! job
pub async fn run(_c: kube::Client) -> crate::Result<()> {
    Ok(())
}
pub mod ttl {
    pub async fn run(_c: kube::Client) -> crate::Result<()> {
        Ok(())
    }
}
