//! Compiles the protocol definitions in `proto/` with protox (pure Rust), so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto");
    let files = ["tfplugin6.proto", "plugin.proto", "health.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={proto_dir}/{f}");
    }
    let descriptors = protox::compile(files, [proto_dir])?;
    tonic_prost_build::configure()
        .build_server(true)
        // Clients are generated for the integration tests; without transport they pull in no HTTP client.
        .build_client(true)
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
