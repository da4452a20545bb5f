//! The `terraform-provider-crossrepl` plugin binary.

use std::process::ExitCode;

use crossrepl::provider::Crossrepl;
use framework::FrameworkServer;
use tfplugin::{ServeConfig, ServeError};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("terraform-provider-crossrepl {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if let Some(other) = args.iter().find(|a| a.as_str() != "--debug") {
        eprintln!("unknown argument {other:?}; usage: terraform-provider-crossrepl [--debug | --version]");
        return ExitCode::from(2);
    }
    let debug = !args.is_empty();

    // One TLS backend for the whole process (the plugin server and the AWS SDK): aws-lc-rs.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tfplugin::log::HclogSubscriber::install("crossrepl", "crossrepl");

    // A plan's checks run as one deeply nested future (every check of a resource joined, each wrapping SDK calls);
    // unoptimised builds keep such futures on the worker's stack, where tokio's 2 MiB default left little margin
    // (a debug build overflowed it once). Reserved address space, not memory: RSS grows only with use.
    let runtime = match tokio::runtime::Builder::new_multi_thread().thread_stack_size(8 << 20).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crossrepl: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = ServeConfig { provider_address: crossrepl::PROVIDER_ADDRESS.to_string(), debug };
    match runtime.block_on(tfplugin::serve(FrameworkServer::new(Crossrepl), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ ServeError::NotLaunchedByEngine) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("crossrepl: {e}");
            ExitCode::FAILURE
        }
    }
}
