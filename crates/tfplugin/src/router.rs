//! Routes gRPC requests to the plugin's services by path, without pulling in a web framework.

use std::convert::Infallible;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::NamedService;

/// A set of gRPC services keyed by their full service name (`tfplugin6.Provider`, ...).
#[derive(Clone, Default)]
pub struct Router {
    routes: Vec<(&'static str, Route)>,
}

type Route = tower_util::BoxCloneSyncService;

mod tower_util {
    use super::*;

    /// A cloneable, type-erased gRPC service.
    pub struct BoxCloneSyncService(Box<dyn CloneService>);

    pub trait CloneService: Send + Sync {
        fn call(&mut self, req: http::Request<Body>) -> BoxFuture<http::Response<Body>, Infallible>;
        fn clone_box(&self) -> Box<dyn CloneService>;
    }

    impl<S> CloneService for S
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        fn call(&mut self, req: http::Request<Body>) -> BoxFuture<http::Response<Body>, Infallible> {
            Box::pin(Service::call(self, req))
        }
        fn clone_box(&self) -> Box<dyn CloneService> {
            Box::new(self.clone())
        }
    }

    impl Clone for BoxCloneSyncService {
        fn clone(&self) -> Self {
            Self(self.0.clone_box())
        }
    }

    impl BoxCloneSyncService {
        pub fn new(s: impl CloneService + 'static) -> Self {
            Self(Box::new(s))
        }
        pub fn call(&mut self, req: http::Request<Body>) -> BoxFuture<http::Response<Body>, Infallible> {
            self.0.call(req)
        }
    }
}

impl Router {
    /// Adds a generated gRPC server. Generated servers are always ready, so readiness is not tracked.
    pub fn add<S>(mut self, service: S) -> Self
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.push((S::NAME, Route::new(service)));
        self
    }
}

impl Service<http::Request<Body>> for Router {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        // Paths are `/<package>.<Service>/<Method>`.
        let service = req.uri().path().trim_start_matches('/').split('/').next().unwrap_or_default();
        match self.routes.iter_mut().find(|(name, _)| *name == service) {
            Some((_, route)) => route.call(req),
            None => {
                let status = tonic::Status::unimplemented(format!("no gRPC service {service:?} in this plugin"));
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}
