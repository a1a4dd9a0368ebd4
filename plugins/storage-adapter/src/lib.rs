//! The storage adapter: a component that imports
//! `skyport:storage/storage@0.2.0` and exports `skyport:storage/stores@0.2.1`,
//! answering each neutral call with its 0.2.0 counterpart: stores are
//! storage accounts, folders are containers.
//!
//! Spin satisfies an import only with an export of exactly its name, so a
//! plugin built before storage 0.2.1 cannot serve the functions by itself.
//! `skyport plug storage_adapter.wasm <plugin.wasm>` composes the two into
//! one component that can, on Spin as on skyport. `stores` is `storage`
//! renamed, with one rule moved: 0.2.0 said a name taken elsewhere by its
//! error code (`StorageAccountAlreadyTaken`), 0.2.1 by the target `name`.

wit_bindgen::generate!({
    path: ["../../wit", "../../wit/released/storage-0.2.0"],
    inline: "
        package skyport:storage-adapter;

        world adapter {
            import skyport:storage/storage@0.2.0;
            export skyport:storage/stores@0.2.1;
        }
    ",
    world: "skyport:storage-adapter/adapter",
    generate_all,
});

use exports::skyport::storage0_2_1::stores as new;
use skyport::storage0_2_0::storage as old;
use skyport::types::types::{Error, Session};

struct Adapter;

export!(Adapter);

fn store(a: old::StorageAccount) -> new::Store {
    new::Store {
        id: a.id,
        name: a.name,
        region: a.region,
        endpoint: a.blob_endpoint,
        state: a.state,
    }
}

fn operation(o: old::Operation) -> new::Operation {
    new::Operation {
        token: o.token,
        step: o.step,
        done: o.done,
        store: o.account.map(store),
    }
}

/// 0.2.0's taken name, said by its code, said as 0.2.1 says it.
fn error(e: Error) -> Error {
    match e {
        Error::Conflict(mut d) if d.code == "StorageAccountAlreadyTaken" => {
            d.target = Some("name".into());
            Error::Conflict(d)
        }
        e => e,
    }
}

impl new::Guest for Adapter {
    fn list_stores(session: Session, scope: String) -> Result<Vec<new::Store>, Error> {
        old::list_accounts(&session, &scope).map(|list| list.into_iter().map(store).collect())
    }

    fn check_name(session: Session, scope: String, name: String) -> Result<Option<String>, Error> {
        old::check_name(&session, &scope, &name)
    }

    fn create_store(
        session: Session,
        scope: String,
        group: String,
        name: String,
        region: String,
    ) -> Result<new::Operation, Error> {
        old::create_account(&session, &scope, &group, &name, &region)
            .map(operation)
            .map_err(error)
    }

    fn advance(session: Session, token: String) -> Result<new::Operation, Error> {
        old::advance(&session, &token).map(operation).map_err(error)
    }

    fn discard(session: Session, token: String) -> Result<(), Error> {
        old::discard(&session, &token)
    }

    fn list_folders(session: Session, store_id: String) -> Result<Vec<String>, Error> {
        old::list_containers(&session, &store_id)
    }

    fn create_folder(session: Session, store_id: String, name: String) -> Result<(), Error> {
        old::create_container(&session, &store_id, &name)
    }

    fn verify_access(
        session: Session,
        store_id: String,
        folder: String,
    ) -> Result<new::Access, Error> {
        old::verify_access(&session, &store_id, &folder).map(|a| match a {
            old::Access::Verified => new::Access::Verified,
            old::Access::NetworkDenied(m) => new::Access::NetworkDenied(m),
            old::Access::Failed(m) => new::Access::Failed(m),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyport::types::types::Detail;

    fn conflict(code: &str) -> Error {
        Error::Conflict(Detail {
            code: code.into(),
            message: "taken".into(),
            target: None,
        })
    }

    #[test]
    fn a_finished_creation_carries_its_store_under_the_neutral_names() {
        let o = operation(old::Operation {
            token: "t".into(),
            step: "Created".into(),
            done: true,
            account: Some(old::StorageAccount {
                id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/b".into(),
                name: "b".into(),
                region: "westeurope".into(),
                blob_endpoint: "https://b.blob.core.windows.net/".into(),
                state: "Succeeded".into(),
            }),
        });
        assert_eq!(
            (o.token.as_str(), o.step.as_str(), o.done),
            ("t", "Created", true)
        );
        let s = o.store.expect("the store");
        assert_eq!(s.endpoint, "https://b.blob.core.windows.net/");
        assert_eq!(
            (s.name.as_str(), s.region.as_str(), s.state.as_str()),
            ("b", "westeurope", "Succeeded")
        );
    }

    #[test]
    fn a_name_taken_elsewhere_gains_the_target_the_functions_read() {
        match error(conflict("StorageAccountAlreadyTaken")) {
            Error::Conflict(d) => assert_eq!(d.target.as_deref(), Some("name")),
            e => panic!("{e:?}"),
        }
        // Any other conflict is passed on as it came.
        match error(conflict("Other")) {
            Error::Conflict(d) => assert_eq!((d.code.as_str(), d.target), ("Other", None)),
            e => panic!("{e:?}"),
        }
    }
}
