//! Closure contexts: named by their function, with the captured variables
//! (or a method value's receiver) typed and labelled from DWARF.

use crate::input::dwarf::TypeId;
use crate::input::elf::address_space::Memory;
use crate::model::ObjectId;

use super::evidence::Evidence;
use super::layouts::closure_layout;
use super::{PTR, Typer};

impl<'a, 'd, 's, M: Memory + ?Sized> Typer<'a, 'd, 's, M> {
    /// A closure context: named by its function; captured variables typed
    /// from the closure function's DWARF (Go ≥1.23).
    pub(super) fn closure(&mut self, ctx: u64) {
        let Some(o) = self.object_at(ctx) else { return };
        if self.evidence(o.index()) == Evidence::Exact {
            return;
        }
        let Some(pc) = self.space.read_u64(ctx) else {
            return;
        };
        let Some(func) = self.funcs.find(pc) else {
            return;
        };
        let name = self.funcs.name(func).unwrap_or_default();
        let type_name = format!("closure {name}");
        // A method value (`x.M` as a func) captures its receiver right after the code pointer.
        if let Some(method) = name.strip_suffix("-fm") {
            let recv = self.receiver_type(method);
            let layout = closure_layout(self.index, vec![(PTR, "<receiver>".to_string(), recv)]);
            self.assign_layout(o, &type_name, layout);
            if let Some(recv) = recv {
                self.walk_value(ctx + PTR, recv, 1);
            }
            return;
        }
        // Generic instantiations describe captures with shape types, not the real ones.
        let captured = match self.index.function_at(pc) {
            Some(dfunc) if !name.contains('[') => {
                let dfunc = dfunc.clone();
                self.index.closure_variables(self.dwarf, &dfunc)
            }
            _ => Vec::new(),
        };
        let fields = captured
            .iter()
            .map(|(n, off, ty)| {
                (
                    *off,
                    format!("<closure>.{}", n.trim_start_matches('&')),
                    Some(*ty),
                )
            })
            .collect();
        self.assign_layout(o, &type_name, closure_layout(self.index, fields));
        for (_, offset, ty) in captured {
            self.walk_value(ctx + offset, ty, 1);
        }
    }

    /// A closure context whose struct type is known (the compiler's
    /// `struct { F uintptr; …captured }`): named by its function, as
    /// `closure` names it, with the captured variables as its fields.
    pub(super) fn closure_context(&mut self, o: ObjectId, ty: TypeId) {
        let ctx = self.objects.addr(o);
        let Some(pc) = self.space.read_u64(ctx) else {
            return;
        };
        // The code pointer is the closure function's entry.
        let Some(func) = self.funcs.find(pc).filter(|f| f.entry == pc) else {
            return;
        };
        let name = self.funcs.name(func).unwrap_or_default();
        let method_value = name.ends_with("-fm");
        let fields = self
            .index
            .ty(self.index.underlying(ty))
            .fields
            .iter()
            .skip(1)
            .map(|f| {
                let label = if method_value && f.name == "R" {
                    "<receiver>".to_string()
                } else {
                    format!("<closure>.{}", f.name)
                };
                (f.offset, label, f.ty)
            })
            .collect();
        self.assign_layout(
            o,
            &format!("closure {name}"),
            closure_layout(self.index, fields),
        );
        self.walk_value(ctx, ty, 1);
    }

    /// The receiver type of method `pkg.T.M` or `pkg.(*T).M`, from DWARF.
    pub(super) fn receiver_type(&self, method: &str) -> Option<TypeId> {
        let (recv, _) = method.rsplit_once('.')?;
        let (pkg, ty) = recv.rsplit_once('.').map_or(("", recv), |(p, t)| (p, t));
        let name = match ty.strip_prefix("(*").and_then(|t| t.strip_suffix(')')) {
            Some(t) => format!("*{pkg}.{t}"),
            None => format!("{pkg}.{ty}"),
        };
        self.index.type_named(&name)
    }
}

/// The compiler's closure context struct: a code pointer, then captures.
pub(super) fn is_closure_struct(name: &str) -> bool {
    name.trim_start_matches("noalg.")
        .starts_with("struct { F uintptr")
}
