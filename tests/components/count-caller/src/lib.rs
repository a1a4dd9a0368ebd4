//! The importing side of the composition tests for an interface with a
//! resource: `/count?start=n` makes a tally in the dependency, adds 1, 2
//! and 3 to it, and answers the count.

wit_bindgen::generate!({ path: "../../wit", world: "count-caller" });

use skyport_test::greet::counter::Tally;
use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let start = req
        .query()
        .strip_prefix("start=")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let tally = Tally::new(start);
    let mut count = 0;
    for n in 1..=3 {
        count = tally.add(n);
    }
    Ok(Response::new(200, count.to_string()))
}
