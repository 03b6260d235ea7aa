//! Compiles proto/census/v1/*.proto with protox (pure Rust, no system protoc) and generates
//! prost messages plus tonic client and server stubs. Output is deterministic.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["census/v1/agent.proto", "census/v1/inventory.proto"];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let descriptors = protox::compile(files, ["."])?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptors)?;
    Ok(())
}
