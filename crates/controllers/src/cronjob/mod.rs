//! cronjob
pub async fn run(_c: kube::Client) -> crate::Result<()> {
    Ok(())
}
