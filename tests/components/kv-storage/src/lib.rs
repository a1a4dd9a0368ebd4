//! A storage plugin built against the released `skyport:storage@0.2.0`
//! (wit/released): storage accounts and containers whose only trace is a
//! key in the `default` key-value store (plugins are instantiated per
//! request, so state must live somewhere durable). It inherits only
//! `key_value_stores`. A name starting `taken` is another's, answered as
//! 0.2.0 says: a `conflict` with code `StorageAccountAlreadyTaken` and no
//! target.

wit_bindgen::generate!({
    path: ["../../../wit", "../../../wit/released/storage-0.2.0"],
    inline: "
        package tests:kv-storage;

        world plugin {
            export skyport:storage/storage@0.2.0;
        }
    ",
    world: "tests:kv-storage/plugin",
    generate_all,
});

use exports::skyport::storage0_2_0::storage::{Access, Guest, Operation, StorageAccount};
use skyport::types::types::{Detail, Error, Session};
use spin_sdk::key_value::Store;

struct Plugin;

export!(Plugin);

fn detail(code: &str, message: &str) -> Detail {
    Detail {
        code: code.into(),
        message: message.into(),
        target: None,
    }
}

fn store() -> Result<Store, Error> {
    Store::open_default().map_err(|e| Error::Other(detail("StoreUnavailable", &format!("{e:?}"))))
}

fn kv<T>(r: Result<T, spin_sdk::key_value::Error>) -> Result<T, Error> {
    r.map_err(|e| Error::Other(detail("StoreFailed", &format!("{e:?}"))))
}

fn account(name: &str, region: &str) -> StorageAccount {
    StorageAccount {
        id: name.into(),
        name: name.into(),
        region: region.into(),
        blob_endpoint: format!("kv://{name}/"),
        state: "Succeeded".into(),
    }
}

/// The account `id`, when it exists.
fn find(s: &Store, id: &str) -> Result<Option<StorageAccount>, Error> {
    Ok(kv(s.get(&format!("account/{id}")))?
        .map(|region| account(id, &String::from_utf8_lossy(&region))))
}

fn existing(s: &Store, id: &str) -> Result<StorageAccount, Error> {
    find(s, id)?.ok_or_else(|| {
        Error::NotFound(detail(
            "StorageAccountNotFound",
            &format!("No storage account `{id}`."),
        ))
    })
}

impl Guest for Plugin {
    fn list_accounts(_: Session, _: String) -> Result<Vec<StorageAccount>, Error> {
        let s = store()?;
        let mut out = Vec::new();
        for key in kv(s.get_keys())? {
            if let Some(id) = key.strip_prefix("account/") {
                out.extend(find(&s, id)?);
            }
        }
        Ok(out)
    }

    fn check_name(_: Session, _: String, name: String) -> Result<Option<String>, Error> {
        Ok(name
            .starts_with("taken")
            .then(|| format!("The storage account name `{name}` is already taken.")))
    }

    /// Records the account and answers with a creation still running, so
    /// the platform has to advance it.
    fn create_account(
        _: Session,
        _: String,
        _: String,
        name: String,
        region: String,
    ) -> Result<Operation, Error> {
        if name.starts_with("taken") {
            return Err(Error::Conflict(detail(
                "StorageAccountAlreadyTaken",
                &format!("The storage account named {name} is already taken."),
            )));
        }
        kv(store()?.set(&format!("account/{name}"), region.as_bytes()))?;
        Ok(Operation {
            token: name,
            step: "Creating the storage account".into(),
            done: false,
            account: None,
        })
    }

    fn advance(_: Session, token: String) -> Result<Operation, Error> {
        let a = existing(&store()?, &token)?;
        Ok(Operation {
            token,
            step: "Created".into(),
            done: true,
            account: Some(a),
        })
    }

    fn discard(_: Session, token: String) -> Result<(), Error> {
        kv(store()?.delete(&format!("account/{token}")))
    }

    fn list_containers(_: Session, account_id: String) -> Result<Vec<String>, Error> {
        let prefix = format!("container/{account_id}/");
        Ok(kv(store()?.get_keys())?
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
            .collect())
    }

    fn create_container(_: Session, account_id: String, name: String) -> Result<(), Error> {
        let s = store()?;
        existing(&s, &account_id)?;
        kv(s.set(&format!("container/{account_id}/{name}"), b""))
    }

    /// Writes, reads back and deletes a probe under the container.
    fn verify_access(_: Session, account_id: String, container: String) -> Result<Access, Error> {
        let s = store()?;
        if !kv(s.exists(&format!("container/{account_id}/{container}")))? {
            return Ok(Access::Failed(format!(
                "No container `{container}` in `{account_id}`."
            )));
        }
        let probe = format!("probe/{account_id}/{container}");
        kv(s.set(&probe, b"probe"))?;
        let read = kv(s.get(&probe))?;
        kv(s.delete(&probe))?;
        Ok(match read.as_deref() {
            Some(b"probe") => Access::Verified,
            _ => Access::Failed("The probe did not read back.".into()),
        })
    }
}
