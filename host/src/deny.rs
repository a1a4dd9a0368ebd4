//! Host functions for capability imports a dependency did not inherit.
//!
//! `compose.rs` renames those imports into the `skyport-denied` namespace; here
//! each function answers as Spin's deny adapter answers it — an error of the
//! interface's own "denied" kind (`access-denied`, `undefined(name)`,
//! `"…" is not permitted`), an empty environment or preopen list — and logs the
//! grant that would allow the call. A function Spin's adapter has no answer for
//! traps with the same message; every resource gets an inert host type.

use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Component, Linker, LinkerInstance, ResourceType, Val};
use wasmtime::Engine;

use crate::compose::{capability_of, original_name, DENIED_NAMESPACE};
use crate::state::HostState;

/// The host type behind every denied resource; it is never constructed.
struct Denied;

/// Defines the denying functions for each `skyport-denied:*` import of `component`.
pub fn add_denied_stubs(
    linker: &mut Linker<HostState>,
    engine: &Engine,
    component: &Component,
    id: &str,
) -> anyhow::Result<()> {
    for (name, item) in component.component_type().imports(engine) {
        if !name.starts_with(DENIED_NAMESPACE) {
            continue;
        }
        let original = original_name(name).unwrap_or_else(|| name.to_string());
        let set = capability_of(&original).unwrap_or("the matching capability");
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        let mut li = linker.instance(name)?;
        for (export, ext) in instance.exports(engine) {
            stub(&mut li, export, &ext.ty, &original, set, id)?;
        }
    }
    Ok(())
}

fn stub(
    li: &mut LinkerInstance<'_, HostState>,
    export: &str,
    ty: &ComponentItem,
    iface: &str,
    set: &str,
    id: &str,
) -> anyhow::Result<()> {
    match ty {
        ComponentItem::ComponentFunc(_) => {
            let message = format!(
                "a dependency of component `{id}` called `{iface}#{export}`, but it does not inherit `{set}`; \
                 grant it with `inherit_configuration = [\"{set}\"]` on the dependency"
            );
            let unversioned = iface.split('@').next().unwrap_or(iface).to_string();
            li.func_new(export, move |_, func, params, results| match denied_answer(
                &func,
                &unversioned,
                params,
            ) {
                Some(answer) if results.len() == 1 => {
                    tracing::warn!("{message}");
                    results[0] = answer;
                    Ok(())
                }
                Some(_) if results.is_empty() => {
                    tracing::warn!("{message}");
                    Ok(())
                }
                _ => Err(wasmtime::Error::msg(message.clone())),
            })?;
        }
        ComponentItem::Resource(_) => {
            li.resource(export, ResourceType::host::<Denied>(), |_, _| Ok(()))?;
        }
        _ => {}
    }
    Ok(())
}

/// The error cases Spin's deny adapter answers with, most specific first.
const DENIED_CASES: &[&str] = &[
    "access-denied",
    "undefined",
    "model-not-supported",
    "destination-not-allowed",
    "internal-error",
    "other",
    "other-error",
    "io",
    "error",
];

/// What Spin's deny adapter returns from this function, if it returns at all:
/// `Err` of the first denied case the error type has, an empty list, `none`.
fn denied_answer(func: &ComponentFunc, iface: &str, params: &[Val]) -> Option<Val> {
    let Some(result) = func.results().next() else {
        return Some(Val::Tuple(Vec::new()));
    };
    match result {
        Type::List(_) => Some(Val::List(Vec::new())),
        Type::Option(_) => Some(Val::Option(None)),
        Type::Result(r) => {
            let not_permitted = format!("{iface:?} is not permitted");
            let err = match r.err()? {
                Type::Enum(e) => {
                    let case = DENIED_CASES.iter().find(|c| e.names().any(|n| n == **c))?;
                    Val::Enum(case.to_string())
                }
                Type::Variant(v) => {
                    let (case, payload) = DENIED_CASES
                        .iter()
                        .find_map(|c| v.cases().find(|k| k.name == *c).map(|k| (*c, k.ty)))?;
                    let payload = match payload {
                        None => None,
                        // `undefined(name)` names the variable asked for.
                        Some(Type::String) if case == "undefined" => match params.first() {
                            Some(Val::String(name)) => Some(Val::String(name.clone())),
                            _ => Some(Val::String(String::new())),
                        },
                        Some(Type::String) => Some(Val::String(not_permitted)),
                        Some(Type::Option(_)) => {
                            Some(Val::Option(Some(Box::new(Val::String(not_permitted)))))
                        }
                        Some(_) => return None,
                    };
                    Val::Variant(case.to_string(), payload.map(Box::new))
                }
                _ => return None,
            };
            Some(Val::Result(Err(Some(Box::new(err)))))
        }
        _ => None,
    }
}
