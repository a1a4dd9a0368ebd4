//! Dependencies linked on demand: each import a dependency satisfies is a set
//! of host functions that instantiate that dependency in the request's store
//! on its first call and pass every call through to its export.
//!
//! What a dependency sees is what Spin's composition gives it (`compose.rs`
//! plans it with the same checks and denials): its own instance per manifest
//! entry and per request, with only what it inherits. What changes is when
//! that instance is made: a request that never calls a plugin (a list, a
//! read, a refusal) no longer pays for instantiating it, which was about a
//! third of a one-row read's CPU on the accounts component. Calls carrying
//! resources, futures or streams cannot be passed through the host, so a
//! component whose dependencies' interfaces have any is composed instead;
//! so is one whose dependencies take or return bytes (`list<u8>`), which
//! would be copied value by value.

use std::sync::Arc;

use anyhow::Context;
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker, LinkerInstance};
use wasmtime::Engine;

use crate::state::HostState;

/// A dependency ready to instantiate in a request's store.
pub struct Dependency {
    /// The component that depends on it, and the manifest's key for it.
    pub parent: String,
    pub name: String,
    pub component: Component,
    pub pre: InstancePre<HostState>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Whether every function the `links` pass through takes and returns plain
/// values only (no resources, futures or streams, no async lifting), so the
/// host can carry its calls between two instances.
pub fn passable(engine: &Engine, main: &Component, links: &[(String, usize, String)]) -> bool {
    let ty = main.component_type();
    links.iter().all(|(import, _, _)| {
        let Some(item) = ty.get_import(engine, import) else {
            return false;
        };
        match item.ty {
            ComponentItem::ComponentInstance(instance) => {
                instance.exports(engine).all(|(_, e)| match e.ty {
                    ComponentItem::ComponentFunc(f) => plain_func(&f),
                    ComponentItem::Type(t) => plain(&t),
                    _ => false,
                })
            }
            ComponentItem::ComponentFunc(f) => plain_func(&f),
            _ => false,
        }
    })
}

fn plain_func(f: &ComponentFunc) -> bool {
    !f.async_() && f.params().all(|(_, t)| plain(&t)) && f.results().all(|t| plain(&t))
}

/// Whether a value of `ty` holds no handle and no bytes: it can be lifted
/// from one instance and lowered into another as it is, at a cost in line
/// with its size. A passed value is a tree of host values, a few dozen
/// bytes each, and wasmtime caps a call's tree at 128 MiB: a few MiB of
/// `list<u8>` would fail where Spin's composition copies it directly, so
/// interfaces passing bytes are composed too.
fn plain(ty: &Type) -> bool {
    match ty {
        Type::Own(_) | Type::Borrow(_) | Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            false
        }
        Type::List(l) => {
            let element = l.ty();
            !matches!(element, Type::U8 | Type::S8) && plain(&element)
        }
        Type::FixedLengthList(l) => plain(&l.ty()),
        Type::Map(m) => plain(&m.key()) && plain(&m.value()),
        Type::Record(r) => r.fields().all(|f| plain(&f.ty)),
        Type::Tuple(t) => t.types().all(|t| plain(&t)),
        Type::Variant(v) => v.cases().all(|c| c.ty.as_ref().is_none_or(plain)),
        Type::Option(o) => plain(&o.ty()),
        Type::Result(r) => r.ok().as_ref().is_none_or(plain) && r.err().as_ref().is_none_or(plain),
        _ => true,
    }
}

/// Defines, for each of `links` (import, dependency, export), the import's
/// functions as calls into the dependency's export.
pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    engine: &Engine,
    main: &Component,
    links: &[(String, usize, String)],
    dependencies: &[Arc<Dependency>],
) -> anyhow::Result<()> {
    let ty = main.component_type();
    // A dependency may satisfy an interface the host also provides (a Spin
    // app can bring its own variables provider): its functions replace the
    // host's, as they do in a composition.
    linker.allow_shadowing(true);
    for (import, dep, export) in links {
        let dependency = &dependencies[*dep];
        let item = ty
            .get_import(engine, import)
            .with_context(|| format!("the component does not import `{import}`"))?;
        let top = dependency
            .component
            .get_export_index(None, export)
            .with_context(|| format!("dependency '{}' has no `{export}`", dependency.name))?;
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            // An import of a single function: the dependency's export of that name.
            forward(&mut linker.root(), import, *dep, dependency, top)?;
            continue;
        };
        let mut li = linker.instance(import)?;
        for (name, e) in instance.exports(engine) {
            if !matches!(e.ty, ComponentItem::ComponentFunc(_)) {
                continue;
            }
            let index = dependency
                .component
                .get_export_index(Some(&top), name)
                .with_context(|| {
                    format!(
                        "dependency '{}' has no `{name}` in `{export}`",
                        dependency.name
                    )
                })?;
            forward(&mut li, name, *dep, dependency, index)?;
        }
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// Defines `name` in `li` as a host function that passes each call to
/// dependency `dep`'s function at `index`, instantiating the dependency
/// first if this store has none yet.
fn forward(
    li: &mut LinkerInstance<'_, HostState>,
    name: &str,
    dep: usize,
    dependency: &Arc<Dependency>,
    index: ComponentExportIndex,
) -> anyhow::Result<()> {
    let dependency = dependency.clone();
    li.func_new_async(name, move |mut store, _ty, params, results| {
        let dependency = dependency.clone();
        Box::new(async move {
            let instance = match store.data().dependencies.get(dep).copied().flatten() {
                Some(instance) => instance,
                None => {
                    let started = std::time::Instant::now();
                    let instance = dependency.pre.instantiate_async(&mut store).await?;
                    dependency.metrics.dependency_instantiated(
                        &dependency.parent,
                        &dependency.name,
                        started.elapsed(),
                    );
                    let slots = &mut store.data_mut().dependencies;
                    if slots.len() <= dep {
                        slots.resize(dep + 1, None);
                    }
                    slots[dep] = Some(instance);
                    instance
                }
            };
            let func = instance.get_func(&mut store, index).ok_or_else(|| {
                wasmtime::Error::msg(format!(
                    "dependency '{}' lost an export it had",
                    dependency.name
                ))
            })?;
            func.call_async(&mut store, params, results).await
        })
    })?;
    Ok(())
}
