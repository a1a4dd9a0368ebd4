//! Host stubs for capability imports a dependency did not inherit.
//!
//! `compose.rs` renames those imports into the `skyport-denied` namespace; here
//! every function in them traps with a message that names the dependency's
//! missing grant, and every resource gets an inert host type.

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, LinkerInstance, ResourceType};
use wasmtime::Engine;

use crate::compose::{capability_of, original_name, DENIED_NAMESPACE};
use crate::state::HostState;

/// The host type behind every denied resource; it is never constructed.
struct Denied;

/// Defines trapping stubs for each `skyport-denied:*` import of `component`.
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
            li.func_new(export, move |_, _, _, _| {
                Err(wasmtime::Error::msg(message.clone()))
            })?;
        }
        ComponentItem::Resource(_) => {
            li.resource(export, ResourceType::host::<Denied>(), |_, _| Ok(()))?;
        }
        _ => {}
    }
    Ok(())
}
