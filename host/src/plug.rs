//! `skyport plug SOCKET PLUG -o OUT`: composes two components ahead of time
//! into one, as `wac plug` does — each import of the socket that the plug
//! exports under the same name is wired to it, and everything else either
//! imports stays an import of the result.
//!
//! It exists for what spin.toml cannot say: Spin composes a component's
//! dependencies into it, never one dependency into another, so an adapter in
//! front of a plugin (compute-adapter in front of a plugin built for an older
//! contract) must be one component before spin.toml names it.

use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions};

/// The socket with its matching imports filled by the plug's exports.
pub fn plug(socket: &[u8], plug: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let register = |graph: &mut CompositionGraph, name: &str, bytes: &[u8]| {
        let package = Package::from_bytes(name, None, bytes.to_vec(), graph.types_mut())
            .map_err(|e| anyhow::anyhow!("`{name}` is not a component: {e:#}"))?;
        let world = package.ty();
        let id = graph.register_package(package)?;
        anyhow::Ok((world, graph.instantiate(id)))
    };
    let (plug_world, plug_instance) = register(&mut graph, "skyport:plug", plug)?;
    let (socket_world, socket_instance) = register(&mut graph, "skyport:socket", socket)?;
    let exported: Vec<String> = graph.types()[plug_world].exports.keys().cloned().collect();
    let wanted: Vec<String> = graph.types()[socket_world]
        .imports
        .keys()
        .cloned()
        .collect();
    let mut wired = 0;
    for name in wanted.iter().filter(|i| exported.contains(i)) {
        let node = graph.alias_instance_export(plug_instance, name)?;
        graph.set_instantiation_argument(socket_instance, name, node)?;
        wired += 1;
    }
    if wired == 0 {
        anyhow::bail!(
            "the plug exports none of the socket's imports (it exports {}; the socket imports {})",
            exported.join(", "),
            wanted.join(", ")
        );
    }
    let exports: Vec<String> = graph.types()[socket_world]
        .exports
        .keys()
        .cloned()
        .collect();
    for name in exports {
        let node = graph.alias_instance_export(socket_instance, &name)?;
        graph.export(node, &name)?;
    }
    Ok(graph.encode(EncodeOptions::default())?)
}
