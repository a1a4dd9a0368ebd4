//! The compute adapter: a component that imports
//! `skyport:compute/compute@0.2.0` and exports `@0.2.1`, passing every 0.2.0
//! call through unchanged and answering the three 0.2.1 additions (power,
//! resize and its sizes) with `invalid-input` that names the plugin's age.
//!
//! Spin satisfies an import only with an export of exactly its name whose
//! type is a subtype of the import's, and composes no dependency into
//! another, so a plugin built before 0.2.1 cannot serve the functions by
//! itself. `skyport plug compute_adapter.wasm <plugin.wasm>` composes the
//! two into one component that can, on Spin as on skyport.

wit_bindgen::generate!({
    path: ["../../wit", "../../wit/released/compute-0.2.0"],
    inline: "
        package skyport:compute-adapter;

        world adapter {
            import skyport:compute/compute@0.2.0;
            export skyport:compute/compute@0.2.1;
        }
    ",
    world: "skyport:compute-adapter/adapter",
    generate_all,
});

use exports::skyport::compute0_2_1::compute as new;
use skyport::compute0_2_0::compute as old;
use skyport::types::types::{Detail, Error, Session};

struct Adapter;

export!(Adapter);

fn region(r: old::Region) -> new::Region {
    new::Region {
        name: r.name,
        display_name: r.display_name,
    }
}

fn size(s: old::Size) -> new::Size {
    new::Size {
        name: s.name,
        vcpus: s.vcpus,
        memory_gb: s.memory_gb,
        family: s.family,
    }
}

fn price(p: old::Price) -> new::Price {
    new::Price {
        hourly: p.hourly,
        currency: p.currency,
    }
}

fn spec(s: new::ServerSpec) -> old::ServerSpec {
    old::ServerSpec {
        scope: s.scope,
        region: s.region,
        size: s.size,
        name: s.name,
        admin_username: s.admin_username,
        ssh_public_key: s.ssh_public_key,
        cloud_init: s.cloud_init,
        owner: s.owner,
        labels: s.labels,
        pending: s.pending,
    }
}

fn server(s: old::Server) -> new::Server {
    new::Server {
        id: s.id,
        name: s.name,
        region: s.region,
        size: s.size,
        public_ip: s.public_ip,
        resources: s.resources,
    }
}

fn operation(o: old::Operation) -> new::Operation {
    new::Operation {
        token: o.token,
        step: o.step,
        step_index: o.step_index,
        steps: o.steps,
        done: o.done,
        server: o.server.map(server),
    }
}

fn status(s: old::ServerStatus) -> new::ServerStatus {
    let state = match s.state {
        old::ServerState::Running => new::ServerState::Running,
        old::ServerState::Changing => new::ServerState::Changing,
        old::ServerState::Stopped => new::ServerState::Stopped,
        old::ServerState::Deallocated => new::ServerState::Deallocated,
        old::ServerState::Missing => new::ServerState::Missing,
    };
    new::ServerStatus {
        state,
        detail: s.detail,
    }
}

/// What a 0.2.1 call gets when the plugin behind is older.
fn not_offered(what: &str) -> Error {
    Error::InvalidInput(Detail {
        code: "not_offered".into(),
        message: format!("This provider's compute plugin was built for skyport:compute 0.2.0, which has no {what}; a newer build of the plugin offers it."),
        target: None,
    })
}

impl new::Guest for Adapter {
    fn list_regions(session: Session, scope: String) -> Result<Vec<new::Region>, Error> {
        old::list_regions(&session, &scope).map(|r| r.into_iter().map(region).collect())
    }

    fn list_sizes(
        session: Session,
        scope: String,
        region: String,
    ) -> Result<Vec<new::Size>, Error> {
        old::list_sizes(&session, &scope, &region).map(|s| s.into_iter().map(size).collect())
    }

    fn hourly_price(
        prices_endpoint: String,
        region: String,
        size: String,
    ) -> Result<Option<new::Price>, Error> {
        old::hourly_price(&prices_endpoint, &region, &size).map(|p| p.map(price))
    }

    fn preflight(session: Session, s: new::ServerSpec) -> Result<(), Error> {
        old::preflight(&session, &spec(s))
    }

    fn create_server(session: Session, s: new::ServerSpec) -> Result<new::Operation, Error> {
        old::create_server(&session, &spec(s)).map(operation)
    }

    fn delete_server(
        session: Session,
        server_id: String,
        owner: String,
    ) -> Result<new::Operation, Error> {
        old::delete_server(&session, &server_id, &owner).map(operation)
    }

    fn inspect_server(
        session: Session,
        server_id: String,
        owner: String,
    ) -> Result<new::ServerStatus, Error> {
        old::inspect_server(&session, &server_id, &owner).map(status)
    }

    fn power_server(
        _: Session,
        _: String,
        _: String,
        _: new::PowerAction,
    ) -> Result<new::Operation, Error> {
        Err(not_offered("power actions"))
    }

    fn resize_sizes(_: Session, _: String, _: String) -> Result<Vec<new::Size>, Error> {
        Err(not_offered("resizing"))
    }

    fn resize_server(_: Session, _: String, _: String, _: String) -> Result<new::Operation, Error> {
        Err(not_offered("resizing"))
    }

    fn advance(session: Session, token: String) -> Result<new::Operation, Error> {
        old::advance(&session, &token).map(operation)
    }
}
