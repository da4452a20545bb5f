//! Provider-defined functions: `CallFunction` checks and decodes the arguments, calls the provider, encodes
//! the result.

use super::ProviderService;
use crate::convert::{decode, encode};
use crate::proto::tfplugin6 as pb;
use crate::server::ProviderServer;

impl<P: ProviderServer> ProviderService<P> {
    /// `CallFunction`: an error names the argument at fault where there is one.
    pub(super) async fn call(&self, req: pb::call_function::Request) -> pb::call_function::Response {
        let fail = |text: String, argument: Option<usize>| pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError { text, function_argument: argument.map(|a| a as i64) }),
        };
        let Some(function) = self.functions.get(&req.name) else {
            return fail(format!("this provider has no function named {:?}", req.name), None);
        };
        if req.arguments.len() != function.parameters.len() {
            return fail(
                format!("{} takes {} arguments, got {}", req.name, function.parameters.len(), req.arguments.len()),
                None,
            );
        }
        let mut args = Vec::with_capacity(req.arguments.len());
        for (i, (dv, p)) in req.arguments.iter().zip(&function.parameters).enumerate() {
            match decode(Some(dv), &p.ty, &format!("argument {}", p.name)) {
                Ok(v) if v.is_null() && !p.allow_null => return fail(format!("{} must not be null", p.name), Some(i)),
                Ok(v) => args.push(v),
                Err(d) => return fail(d.detail, Some(i)),
            }
        }
        match self.provider.call_function(&req.name, args).await {
            Ok(value) => match encode(&value, &function.return_type, "function result") {
                Ok(dv) => pb::call_function::Response { result: Some(dv), error: None },
                Err(d) => fail(d.detail, None),
            },
            Err(e) => fail(e.text, e.argument),
        }
    }
}
