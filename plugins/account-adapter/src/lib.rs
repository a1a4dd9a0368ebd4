//! The account adapter: a component that imports
//! `skyport:account/account@0.2.0` and exports `skyport:account/scopes@0.2.1`,
//! answering each neutral call with its 0.2.0 counterpart: directories are
//! tenants, scopes are subscriptions, services are resource providers.
//!
//! Spin satisfies an import only with an export of exactly its name, so a
//! plugin built before account 0.2.1 cannot serve the functions by itself.
//! `skyport plug account_adapter.wasm <plugin.wasm>` composes the two into
//! one component that can, on Spin as on skyport. Nothing is lost on the
//! way: `scopes` is `account` renamed, field for field.

wit_bindgen::generate!({
    path: ["../../wit", "../../wit/released/account-0.2.0"],
    inline: "
        package skyport:account-adapter;

        world adapter {
            import skyport:account/account@0.2.0;
            export skyport:account/scopes@0.2.1;
        }
    ",
    world: "skyport:account-adapter/adapter",
    generate_all,
});

use exports::skyport::account0_2_1::scopes as new;
use skyport::account0_2_0::account as old;
use skyport::types::types::{Error, Session};

struct Adapter;

export!(Adapter);

fn scope(s: old::Subscription) -> new::Scope {
    new::Scope {
        id: s.id,
        name: s.name,
        directory_id: s.tenant_id,
        state: s.state,
    }
}

fn service(p: old::Provider) -> new::Service {
    new::Service {
        name: p.namespace,
        state: p.state,
    }
}

fn prerequisites(p: old::Prerequisites) -> new::Prerequisites {
    new::Prerequisites {
        scope: scope(p.subscription),
        role: p.role,
        can_write: p.can_write,
        services: p.providers.into_iter().map(service).collect(),
        capabilities: p
            .capabilities
            .into_iter()
            .map(|c| new::CapabilityStatus {
                capability: c.capability,
                available: c.available,
                reason: c.reason,
            })
            .collect(),
    }
}

impl new::Guest for Adapter {
    fn list_directories(session: Session) -> Result<Vec<new::Directory>, Error> {
        old::list_tenants(&session).map(|tenants| {
            tenants
                .into_iter()
                .map(|t| new::Directory {
                    id: t.id,
                    name: t.name,
                    domain: t.domain,
                })
                .collect()
        })
    }

    fn list_scopes(session: Session) -> Result<Vec<new::Scope>, Error> {
        old::list_subscriptions(&session).map(|subs| subs.into_iter().map(scope).collect())
    }

    fn check(session: Session, scope_id: String) -> Result<new::Prerequisites, Error> {
        old::check(&session, &scope_id).map(prerequisites)
    }

    fn enable_service(
        session: Session,
        scope_id: String,
        name: String,
    ) -> Result<new::Service, Error> {
        old::register_provider(&session, &scope_id, &name).map(service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyport::types::types::Capability;

    #[test]
    fn prerequisites_keep_every_field_under_their_neutral_names() {
        let p = prerequisites(old::Prerequisites {
            subscription: old::Subscription {
                id: "sub".into(),
                name: "Production".into(),
                tenant_id: "tenant".into(),
                state: "Warned".into(),
            },
            role: Some("Reader".into()),
            can_write: false,
            providers: vec![old::Provider {
                namespace: "Microsoft.Compute".into(),
                state: "NotRegistered".into(),
            }],
            capabilities: vec![old::CapabilityStatus {
                capability: Capability::Compute,
                available: false,
                reason: Some("why".into()),
            }],
        });
        assert_eq!(
            (p.scope.id.as_str(), p.scope.name.as_str()),
            ("sub", "Production")
        );
        assert_eq!(
            (p.scope.directory_id.as_str(), p.scope.state.as_str()),
            ("tenant", "Warned")
        );
        assert_eq!((p.role.as_deref(), p.can_write), (Some("Reader"), false));
        assert_eq!(p.services.len(), 1);
        assert_eq!(
            (p.services[0].name.as_str(), p.services[0].state.as_str()),
            ("Microsoft.Compute", "NotRegistered")
        );
        let c = &p.capabilities[0];
        assert!(matches!(c.capability, Capability::Compute));
        assert_eq!((c.available, c.reason.as_deref()), (false, Some("why")));
    }
}
