//! The importing side of the composition tests: `/greet?name=x` calls
//! `greet`, `/secret` calls `secret` (which needs the host's variables),
//! `/both` calls `greet` and `mood`, and `/plain` calls nothing.

wit_bindgen::generate!({ path: "../../wit", world: "caller" });

use skyport_test::greet::greeter;
use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let body = if req.path().ends_with("/plain") {
        "No dependency called.".to_string()
    } else if req.path().ends_with("/both") {
        format!("{} ({:?})", greeter::greet("Ada"), greeter::mood())
    } else if req.path().ends_with("/secret") {
        greeter::secret()
    } else if req.path().ends_with("/tone") {
        format!("{:?}", greeter::mood())
    } else {
        let name = req
            .query()
            .strip_prefix("name=")
            .unwrap_or("world")
            .to_string();
        greeter::greet(&name)
    };
    Ok(Response::new(200, body))
}
