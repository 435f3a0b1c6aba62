//! Every shader parses and validates with naga, and every file in shaders/ is registered
//! in `argva::kernels::SHADERS` (so none can ship untested). No GPU needed.

#[test]
fn every_shader_validates_with_naga() {
    for (name, source) in argva::kernels::SHADERS {
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        );
        if let Err(e) = validator.validate(&module) {
            panic!("{name}: {}", e.emit_to_string(source));
        }
    }
}

#[test]
fn every_shader_file_is_registered() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let registered: Vec<&str> = argva::kernels::SHADERS.iter().map(|(n, _)| *n).collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".wgsl") {
            assert!(
                registered.contains(&name.as_str()),
                "{name} is not in kernels::SHADERS"
            );
        }
    }
}

/// A `var` declared inside a block (a loop body, an `if`) carries an explicit initializer.
/// WGSL zeroes one without it each time the declaration runs, but not every compiler does:
/// under Chromium's WebGPU (Tint, SwiftShader) disc_fused's regulariser kept its accumulator
/// from one tile to the next, so every row past the first 16 tiles got a wrong dz and the
/// page's training drifted from the native run (docs/performance.md, "Browser agreement").
/// Declarations at a function's top level (indent 4) are zeroed once, everywhere.
#[test]
fn no_block_local_var_relies_on_implicit_zeroing() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut bad = Vec::new();
    for dir in [root.clone(), root.join("lib")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "wgsl") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate() {
                let body = line.trim_start();
                let indent = line.len() - body.len();
                let bare = body.starts_with("var ") && !body.contains('=') && body.ends_with(';');
                if bare && indent > 4 {
                    bad.push(format!("{}:{}: {body}", path.display(), i + 1));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "give these an initializer:\n{}",
        bad.join("\n")
    );
}

/// Every entry point's bindings (their `@binding` order and access) and its uniform block
/// (size and field offsets), reflected from the WGSL with naga, equal what the host wrapper
/// declares (`argva::kernels::contracts()`): the two sides of each contract cannot drift.
#[test]
fn every_shader_contract_matches_its_host_wrapper() {
    let contracts = argva::kernels::contracts();
    let problems: Vec<String> = contracts.iter().flat_map(contract_mismatches).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // adam, colsum, decoder ×4, dense_recon, disc_fused ×2 (step, regulariser), matmul ×3,
    // negatives ×6 (sample ×2, scan, place ×2, order), reduce, reparam ×3, rng ×3 (normal, bits,
    // noisy), spmm ×2, the loop probe.
    assert_eq!(contracts.len(), 28);
}

fn contract_mismatches(c: &argva::kernels::Contract) -> Vec<String> {
    use argva::gpu::Binding;
    use naga::{AddressSpace, StorageAccess, TypeInner};
    let module = naga::front::wgsl::parse_str(c.source).expect("parses (see the test above)");
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .expect("validates");
    let what = |s: String| format!("entry `{}`: {s}", c.entry);
    let Some(index) = module.entry_points.iter().position(|e| e.name == c.entry) else {
        return vec![what("no such entry point in the shader".into())];
    };
    let uses = info.get_entry_point(index);
    let mut problems = Vec::new();
    let mut declared = std::collections::BTreeMap::new();
    for (handle, var) in module.global_variables.iter() {
        let Some(rb) = &var.binding else { continue };
        let kind = match var.space {
            AddressSpace::Uniform => Binding::Uniform,
            AddressSpace::Storage { access } if access.contains(StorageAccess::STORE) => {
                Binding::ReadWrite
            }
            AddressSpace::Storage { .. } => Binding::Read,
            other => {
                problems.push(what(format!("binding {} in {other:?}", rb.binding)));
                continue;
            }
        };
        if rb.group != 0 {
            problems.push(what(format!(
                "binding {} is in group {}",
                rb.binding, rb.group
            )));
        }
        declared.insert(rb.binding as usize, (var, kind, !uses[handle].is_empty()));
    }
    for (i, want) in c.bindings.iter().enumerate() {
        match declared.get(&i) {
            None => problems.push(what(format!(
                "the host binds {i}, the shader declares none"
            ))),
            Some((var, got, _)) if got != want => problems.push(what(format!(
                "binding {i} (`{}`) is {got:?} in the shader, {want:?} on the host",
                var.name.as_deref().unwrap_or("?")
            ))),
            _ => {}
        }
    }
    for (&i, (var, _, used)) in &declared {
        if *used && i >= c.bindings.len() {
            let name = var.name.as_deref().unwrap_or("?");
            problems.push(what(format!(
                "uses binding {i} (`{name}`), which the host does not bind"
            )));
        }
    }
    // Flag bits and layouts the host passes as numbers: the shader's named constants.
    for &(name, want) in &c.constants {
        let init = module
            .constants
            .iter()
            .find(|(_, k)| k.name.as_deref() == Some(name));
        match init.map(|(_, k)| &module.global_expressions[k.init]) {
            Some(naga::Expression::Literal(naga::Literal::U32(v))) if *v == want => {}
            Some(e) => problems.push(what(format!("const {name} is {e:?}, {want} on the host"))),
            None => problems.push(what(format!("the shader declares no const {name}"))),
        }
    }
    // The uniform block: size and every named field's offset, both ways.
    let Some((uniform, _, _)) = declared.values().find(|(_, k, _)| *k == Binding::Uniform) else {
        return problems;
    };
    let TypeInner::Struct { members, span } = &module.types[uniform.ty].inner else {
        problems.push(what("the uniform is not a struct".into()));
        return problems;
    };
    if *span as usize != c.params.size {
        let host = c.params.size;
        problems.push(what(format!(
            "params are {span} bytes in the shader, {host} on the host"
        )));
    }
    let shader: Vec<(&str, usize)> = members
        .iter()
        .filter_map(|m| Some((m.name.as_deref()?, m.offset as usize)))
        .filter(|(n, _)| !n.starts_with('_'))
        .collect();
    for &(name, offset) in &shader {
        match c.params.fields.iter().find(|(n, _)| *n == name) {
            None => problems.push(what(format!(
                "params field `{name}` is missing on the host"
            ))),
            Some(&(_, host)) if host != offset => problems.push(what(format!(
                "params field `{name}` at byte {offset} in the shader, {host} on the host"
            ))),
            _ => {}
        }
    }
    for &(name, _) in &c.params.fields {
        if !shader.iter().any(|(n, _)| *n == name) {
            problems.push(what(format!(
                "params field `{name}` is missing in the shader"
            )));
        }
    }
    problems
}
