//! placeholder
pub async fn run(
    _c: crate::KubeletConfig,
    _k: kube::Client,
    _r: std::sync::Arc<dyn skiff_runtime::RuntimeService>,
    _i: std::sync::Arc<dyn skiff_runtime::ImageService>,
    _n: std::sync::Arc<dyn crate::PodNetwork>,
) -> anyhow::Result<()> {
    Ok(())
}
