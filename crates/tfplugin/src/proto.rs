//! Generated protobuf and gRPC code. Only the conversion and service modules of this crate use it.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// The Terraform plugin protocol, version 6.
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's own services: controller, stdio and broker.
pub mod plugin {
    tonic::include_proto!("plugin");
}

/// The standard gRPC health service.
pub mod health {
    tonic::include_proto!("grpc.health.v1");
}
