//! A safe reader for the subset of Python pickle (protocol ≤ 2, plus a few protocol-3 byte
//! opcodes) used by the Planetoid `ind.*` files.
//!
//! Nothing is executed: `GLOBAL` only accepts a fixed allow-list of names (numpy arrays and
//! dtypes, scipy's CSR matrix, `collections.defaultdict`, `copy_reg._reconstructor`, builtin
//! `list`/`object`), and `REDUCE`/`NEWOBJ`/`BUILD` merely record calls as [`Value::Instance`].
//! Every length is checked against the remaining input before anything is allocated, the
//! machine is a loop (no recursion while parsing), and turning the shared object graph into a
//! tree is bounded in depth and in total size.

use std::collections::HashMap;

/// Why a pickle could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PickleError {
    #[error("truncated pickle: opcode {opcode:#04x} at byte {offset} needs more bytes")]
    Truncated { offset: usize, opcode: u8 },
    #[error("pickle ends without a STOP opcode")]
    NoStop,
    #[error("unsupported pickle opcode {opcode:#04x} at byte {offset}")]
    UnknownOpcode { offset: usize, opcode: u8 },
    #[error("pickle refers to global `{module}.{name}`, which is not on the allow-list")]
    GlobalNotAllowed { module: String, name: String },
    #[error("corrupt pickle at byte {offset}: {msg}")]
    Corrupt { offset: usize, msg: String },
    #[error("unexpected pickle content: {0}")]
    Structure(String),
}

/// The globals a Planetoid file may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    NdarrayReconstruct,
    Ndarray,
    Dtype,
    CsrMatrix,
    DefaultDict,
    CopyRegReconstructor,
    List,
    Object,
}

impl Global {
    fn resolve(module: &str, name: &str) -> Option<Global> {
        Some(match (module, name) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                Global::NdarrayReconstruct
            }
            ("numpy", "ndarray") => Global::Ndarray,
            ("numpy", "dtype") => Global::Dtype,
            ("scipy.sparse.csr" | "scipy.sparse._csr" | "scipy.sparse", "csr_matrix") => {
                Global::CsrMatrix
            }
            ("collections", "defaultdict") => Global::DefaultDict,
            ("copy_reg" | "copyreg", "_reconstructor") => Global::CopyRegReconstructor,
            ("__builtin__" | "builtins", "list") => Global::List,
            ("__builtin__" | "builtins", "object") => Global::Object,
            _ => return None,
        })
    }
}

/// A decoded pickle value (a tree: shared references have been copied).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Python 2 `str` / Python 3 `bytes`.
    Bytes(Vec<u8>),
    /// Python `unicode` / 3 `str`.
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(Global),
    /// The result of calling `class` (REDUCE/NEWOBJ) with `args`, then `BUILD` with `state`;
    /// `items` holds SETITEMS applied to it (defaultdict).
    Instance {
        class: Global,
        args: Vec<Value>,
        state: Option<Box<Value>>,
        items: Vec<(Value, Value)>,
    },
}

impl Value {
    /// The bytes of a `str`/`bytes` value, or of a `unicode` value's UTF-8.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            Value::Str(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }
}

/// While parsing, mutable containers live in an arena so that memo references share them
/// (BUILD/APPENDS after BINPUT must be visible through later BINGETs, as in Python).
#[derive(Debug, Clone)]
enum Slot {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(std::rc::Rc<[u8]>),
    Str(std::rc::Rc<str>),
    Tuple(std::rc::Rc<[Slot]>),
    Global(Global),
    Mark,
    /// Index into the arena of mutable objects.
    Obj(usize),
}

#[derive(Debug)]
enum Obj {
    List(Vec<Slot>),
    Dict(Vec<(Slot, Slot)>),
    Instance {
        class: Global,
        args: Vec<Slot>,
        state: Option<Slot>,
        items: Vec<(Slot, Slot)>,
    },
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    op_at: usize,
    op: u8,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        if self.data.len() - self.pos < n {
            return Err(PickleError::Truncated {
                offset: self.op_at,
                opcode: self.op,
            });
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, PickleError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, PickleError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn line(&mut self) -> Result<&'a str, PickleError> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated {
                offset: self.op_at,
                opcode: self.op,
            })?;
        let s = std::str::from_utf8(&rest[..end])
            .map_err(|_| self.corrupt("GLOBAL name is not UTF-8"))?;
        self.pos += end + 1;
        Ok(s)
    }
    fn corrupt(&self, msg: impl Into<String>) -> PickleError {
        PickleError::Corrupt {
            offset: self.op_at,
            msg: msg.into(),
        }
    }
}

/// Decode one pickle from `data`.
pub fn parse(data: &[u8]) -> Result<Value, PickleError> {
    let mut r = Reader {
        data,
        pos: 0,
        op_at: 0,
        op: 0,
    };
    let mut stack: Vec<Slot> = Vec::new();
    let mut arena: Vec<Obj> = Vec::new();
    let mut memo: HashMap<u32, Slot> = HashMap::new();

    macro_rules! pop {
        () => {
            match stack.pop() {
                Some(Slot::Mark) | None => return Err(r.corrupt("stack underflow")),
                Some(v) => v,
            }
        };
    }
    // Items above the topmost MARK (the MARK itself is removed).
    macro_rules! pop_mark {
        () => {{
            let m = stack
                .iter()
                .rposition(|s| matches!(s, Slot::Mark))
                .ok_or_else(|| r.corrupt("no MARK on the stack"))?;
            let items: Vec<Slot> = stack.drain(m + 1..).collect();
            stack.pop();
            items
        }};
    }

    loop {
        r.op_at = r.pos;
        if r.pos >= data.len() {
            return Err(PickleError::NoStop);
        }
        r.op = data[r.pos];
        r.pos += 1;
        match r.op {
            0x80 => {
                let proto = r.u8()?;
                if proto > 3 {
                    return Err(r.corrupt(format!("protocol {proto} is not supported")));
                }
            }
            b'.' => break,
            b'c' => {
                let module = r.line()?;
                let name = r.line()?;
                let g =
                    Global::resolve(module, name).ok_or_else(|| PickleError::GlobalNotAllowed {
                        module: module.to_string(),
                        name: name.to_string(),
                    })?;
                stack.push(Slot::Global(g));
            }
            b'q' => {
                let i = r.u8()? as u32;
                let top = stack
                    .last()
                    .cloned()
                    .ok_or_else(|| r.corrupt("BINPUT on empty stack"))?;
                memo.insert(i, top);
            }
            b'r' => {
                let i = r.u32()?;
                let top = stack
                    .last()
                    .cloned()
                    .ok_or_else(|| r.corrupt("LONG_BINPUT on empty stack"))?;
                memo.insert(i, top);
            }
            b'h' | b'j' => {
                let i = if r.op == b'h' {
                    r.u8()? as u32
                } else {
                    r.u32()?
                };
                let v = memo
                    .get(&i)
                    .cloned()
                    .ok_or_else(|| r.corrupt(format!("memo key {i} unset")))?;
                stack.push(v);
            }
            b'(' => stack.push(Slot::Mark),
            b't' => {
                let items = pop_mark!();
                stack.push(Slot::Tuple(items.into()));
            }
            b')' => stack.push(Slot::Tuple(Vec::new().into())),
            0x85..=0x87 => {
                let n = (r.op - 0x84) as usize;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(pop!());
                }
                items.reverse();
                stack.push(Slot::Tuple(items.into()));
            }
            b'}' => {
                arena.push(Obj::Dict(Vec::new()));
                stack.push(Slot::Obj(arena.len() - 1));
            }
            b']' => {
                arena.push(Obj::List(Vec::new()));
                stack.push(Slot::Obj(arena.len() - 1));
            }
            b'a' | b'e' => {
                let items = if r.op == b'a' {
                    vec![pop!()]
                } else {
                    pop_mark!()
                };
                match stack.last() {
                    Some(Slot::Obj(i)) => match &mut arena[*i] {
                        Obj::List(l) => l.extend(items),
                        _ => return Err(r.corrupt("APPEND to a non-list")),
                    },
                    _ => return Err(r.corrupt("APPEND to a non-list")),
                }
            }
            b's' | b'u' => {
                let items = if r.op == b's' {
                    let v = pop!();
                    let k = pop!();
                    vec![k, v]
                } else {
                    pop_mark!()
                };
                if items.len() % 2 != 0 {
                    return Err(r.corrupt("SETITEMS with an odd number of items"));
                }
                let mut it = items.into_iter();
                let mut pairs = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                match stack.last() {
                    Some(Slot::Obj(i)) => match &mut arena[*i] {
                        Obj::Dict(d) => d.extend(pairs),
                        Obj::Instance {
                            class: Global::DefaultDict,
                            items,
                            ..
                        } => items.extend(pairs),
                        _ => return Err(r.corrupt("SETITEMS on a non-dict")),
                    },
                    _ => return Err(r.corrupt("SETITEMS on a non-dict")),
                }
            }
            b'J' => {
                let v = r.u32()? as i32;
                stack.push(Slot::Int(v as i64));
            }
            b'K' => {
                let v = r.u8()?;
                stack.push(Slot::Int(v as i64));
            }
            b'M' => {
                let v = r.u16()?;
                stack.push(Slot::Int(v as i64));
            }
            0x8a => {
                // LONG1: little-endian two's complement, at most 8 bytes here.
                let n = r.u8()? as usize;
                if n > 8 {
                    return Err(r.corrupt("LONG1 wider than 64 bits"));
                }
                let b = r.take(n)?;
                let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                    [0xffu8; 8]
                } else {
                    [0u8; 8]
                };
                buf[..n].copy_from_slice(b);
                stack.push(Slot::Int(i64::from_le_bytes(buf)));
            }
            b'G' => {
                let b = r.take(8)?;
                stack.push(Slot::Float(f64::from_be_bytes(
                    b.try_into().expect("8 bytes"),
                )));
            }
            b'U' | b'C' => {
                let n = r.u8()? as usize;
                stack.push(Slot::Bytes(r.take(n)?.into()));
            }
            b'T' | b'B' => {
                let n = r.u32()? as usize;
                stack.push(Slot::Bytes(r.take(n)?.into()));
            }
            b'X' | 0x8c => {
                let n = if r.op == b'X' {
                    r.u32()? as usize
                } else {
                    r.u8()? as usize
                };
                let b = r.take(n)?;
                let s =
                    std::str::from_utf8(b).map_err(|_| r.corrupt("unicode string is not UTF-8"))?;
                stack.push(Slot::Str(s.into()));
            }
            b'N' => stack.push(Slot::None),
            0x88 => stack.push(Slot::Bool(true)),
            0x89 => stack.push(Slot::Bool(false)),
            b'0' => {
                stack.pop().ok_or_else(|| r.corrupt("POP on empty stack"))?;
            }
            b'1' => {
                pop_mark!();
            }
            b'2' => {
                let top = stack
                    .last()
                    .cloned()
                    .ok_or_else(|| r.corrupt("DUP on empty stack"))?;
                stack.push(top);
            }
            b'R' | 0x81 => {
                let args = match pop!() {
                    Slot::Tuple(t) => t.to_vec(),
                    _ => return Err(r.corrupt("call arguments are not a tuple")),
                };
                let class = match pop!() {
                    Slot::Global(g) => g,
                    _ => return Err(r.corrupt("calling something that is not an allowed global")),
                };
                // `list()`/`object()` calls never occur in these files; refusing keeps the
                // meaning of every Instance clear.
                if matches!(class, Global::List | Global::Object) {
                    return Err(r.corrupt("calling builtin list/object is not supported"));
                }
                arena.push(Obj::Instance {
                    class,
                    args,
                    state: None,
                    items: Vec::new(),
                });
                stack.push(Slot::Obj(arena.len() - 1));
            }
            b'b' => {
                let state = pop!();
                match stack.last() {
                    Some(Slot::Obj(i)) => match &mut arena[*i] {
                        Obj::Instance { state: s, .. } if s.is_none() => *s = Some(state),
                        _ => return Err(r.corrupt("BUILD on a non-instance or twice")),
                    },
                    _ => return Err(r.corrupt("BUILD on a non-instance")),
                }
            }
            op => {
                return Err(PickleError::UnknownOpcode {
                    offset: r.op_at,
                    opcode: op,
                });
            }
        }
    }
    if stack.len() != 1 {
        return Err(PickleError::Corrupt {
            offset: r.op_at,
            msg: format!("STOP with {} items on the stack", stack.len()),
        });
    }
    let top = stack.pop().expect("one item");
    // Sharing can make the tree exponentially larger than the input; a legitimate file
    // shares only small things (dtypes), so a budget proportional to the input suffices.
    let mut budget = 4 * data.len() + 1024;
    to_value(&top, &arena, 0, &mut budget)
}

const MAX_DEPTH: usize = 64;

fn to_value(
    s: &Slot,
    arena: &[Obj],
    depth: usize,
    budget: &mut usize,
) -> Result<Value, PickleError> {
    if depth > MAX_DEPTH {
        return Err(PickleError::Structure(format!(
            "nesting deeper than {MAX_DEPTH} levels (or a cycle)"
        )));
    }
    *budget = budget.checked_sub(1).ok_or_else(|| {
        PickleError::Structure("shared references expand to too many objects".into())
    })?;
    let list = |v: &[Slot], budget: &mut usize| -> Result<Vec<Value>, PickleError> {
        v.iter()
            .map(|x| to_value(x, arena, depth + 1, budget))
            .collect()
    };
    let pairs =
        |v: &[(Slot, Slot)], budget: &mut usize| -> Result<Vec<(Value, Value)>, PickleError> {
            v.iter()
                .map(|(k, x)| {
                    Ok((
                        to_value(k, arena, depth + 1, budget)?,
                        to_value(x, arena, depth + 1, budget)?,
                    ))
                })
                .collect()
        };
    Ok(match s {
        Slot::None => Value::None,
        Slot::Bool(b) => Value::Bool(*b),
        Slot::Int(i) => Value::Int(*i),
        Slot::Float(f) => Value::Float(*f),
        Slot::Bytes(b) => {
            *budget = budget.saturating_sub(b.len() / 64);
            Value::Bytes(b.to_vec())
        }
        Slot::Str(t) => Value::Str(t.to_string()),
        Slot::Tuple(t) => Value::Tuple(list(t, budget)?),
        Slot::Global(g) => Value::Global(*g),
        Slot::Mark => return Err(PickleError::Structure("MARK left on the stack".into())),
        Slot::Obj(i) => match &arena[*i] {
            Obj::List(l) => Value::List(list(l, budget)?),
            Obj::Dict(d) => Value::Dict(pairs(d, budget)?),
            Obj::Instance {
                class,
                args,
                state,
                items,
            } => Value::Instance {
                class: *class,
                args: list(args, budget)?,
                state: match state {
                    Some(s) => Some(Box::new(to_value(s, arena, depth + 1, budget)?)),
                    None => None,
                },
                items: pairs(items, budget)?,
            },
        },
    })
}

// ---------------------------------------------------------------------------------------
// Typed views of the decoded values.

/// A numpy array's contents converted to f64 (every dtype in these files is exactly
/// representable: bool, int8..int32, float32/64; int64 beyond 2^53 is rejected).
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    pub shape: Vec<usize>,
    /// Row-major (C order) values.
    pub data: Vec<f64>,
}

fn structure(msg: impl Into<String>) -> PickleError {
    PickleError::Structure(msg.into())
}

fn dict_get<'v>(d: &'v [(Value, Value)], key: &str) -> Option<&'v Value> {
    d.iter()
        .find(|(k, _)| k.as_bytes() == Some(key.as_bytes()))
        .map(|(_, v)| v)
}

/// Interpret a value as `numpy.core.multiarray._reconstruct(ndarray, ...)` + BUILD state.
pub fn ndarray_from_value(v: &Value) -> Result<NdArray, PickleError> {
    let Value::Instance {
        class: Global::NdarrayReconstruct,
        args,
        state: Some(state),
        ..
    } = v
    else {
        return Err(structure("expected a numpy array"));
    };
    if args.first() != Some(&Value::Global(Global::Ndarray)) {
        return Err(structure(
            "numpy _reconstruct of something other than ndarray",
        ));
    }
    let Value::Tuple(st) = state.as_ref() else {
        return Err(structure("numpy array state is not a tuple"));
    };
    let [_version, Value::Tuple(shape), dtype, fortran, raw] = st.as_slice() else {
        return Err(structure("numpy array state does not have 5 fields"));
    };
    let shape: Vec<usize> = shape
        .iter()
        .map(|d| d.as_int().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| structure("numpy array shape is not a tuple of non-negative ints"))?;
    let fortran = matches!(fortran, Value::Bool(true)) || fortran.as_int() == Some(1);
    let raw = raw
        .as_bytes()
        .ok_or_else(|| structure("numpy array data is not raw bytes (object array?)"))?;
    let (kind, size, order) = dtype_of(dtype)?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| structure("numpy array shape overflows"))?;
    if count.checked_mul(size) != Some(raw.len()) {
        return Err(structure(format!(
            "numpy array of shape {shape:?} and item size {size} needs {} bytes, found {}",
            count.saturating_mul(size),
            raw.len()
        )));
    }
    if order == b'>' && size > 1 {
        return Err(structure("big-endian numpy arrays are not supported"));
    }
    let mut data = Vec::with_capacity(count);
    for c in raw.chunks_exact(size) {
        let x = match (kind, size) {
            (b'f', 4) => f32::from_le_bytes(c.try_into().expect("4")) as f64,
            (b'f', 8) => f64::from_le_bytes(c.try_into().expect("8")),
            (b'i', 1) => c[0] as i8 as f64,
            (b'u' | b'b', 1) => c[0] as f64,
            (b'i', 2) => i16::from_le_bytes(c.try_into().expect("2")) as f64,
            (b'u', 2) => u16::from_le_bytes(c.try_into().expect("2")) as f64,
            (b'i', 4) => i32::from_le_bytes(c.try_into().expect("4")) as f64,
            (b'u', 4) => u32::from_le_bytes(c.try_into().expect("4")) as f64,
            (b'i', 8) => {
                let v = i64::from_le_bytes(c.try_into().expect("8"));
                if v.unsigned_abs() > 1 << 53 {
                    return Err(structure("int64 value too large to represent"));
                }
                v as f64
            }
            _ => {
                return Err(structure(format!(
                    "unsupported numpy dtype {}{size}",
                    kind as char
                )));
            }
        };
        data.push(x);
    }
    if fortran && shape.len() == 2 {
        let (r, c) = (shape[0], shape[1]);
        let mut t = vec![0.0; count];
        for i in 0..r {
            for j in 0..c {
                t[i * c + j] = data[j * r + i];
            }
        }
        data = t;
    } else if fortran && shape.len() > 2 {
        return Err(structure(
            "Fortran-order arrays of rank > 2 are not supported",
        ));
    }
    Ok(NdArray { shape, data })
}

/// (kind letter, item size, byte-order char) of a `numpy.dtype(...)` instance.
fn dtype_of(v: &Value) -> Result<(u8, usize, u8), PickleError> {
    let Value::Instance {
        class: Global::Dtype,
        args,
        state,
        ..
    } = v
    else {
        return Err(structure("numpy array dtype is not a numpy.dtype"));
    };
    let name = args
        .first()
        .and_then(Value::as_bytes)
        .ok_or_else(|| structure("numpy dtype without a type string"))?;
    let (kind, size) = match name {
        [b'b', b'1'] => (b'b', 1),
        [k @ (b'f' | b'i' | b'u'), digits @ ..] if !digits.is_empty() => {
            let s: usize = std::str::from_utf8(digits)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| structure("numpy dtype size is not a number"))?;
            (*k, s)
        }
        _ => {
            return Err(structure(format!(
                "unsupported numpy dtype {:?}",
                String::from_utf8_lossy(name)
            )));
        }
    };
    let order = match state.as_deref() {
        Some(Value::Tuple(t)) => t
            .get(1)
            .and_then(Value::as_bytes)
            .and_then(|b| b.first().copied())
            .unwrap_or(b'<'),
        _ => b'<',
    };
    Ok((kind, size, order))
}

/// A scipy CSR matrix exactly as stored (indices not yet validated against the shape).
#[derive(Debug, Clone, PartialEq)]
pub struct RawCsr {
    pub rows: usize,
    pub cols: usize,
    pub indptr: Vec<f64>,
    pub indices: Vec<f64>,
    pub data: Vec<f64>,
}

/// Interpret a value as a pickled `scipy.sparse.csr_matrix`.
pub fn csr_from_value(v: &Value) -> Result<RawCsr, PickleError> {
    let Value::Instance {
        class,
        args,
        state: Some(state),
        ..
    } = v
    else {
        return Err(structure("expected a scipy.sparse.csr_matrix"));
    };
    let ok_class = *class == Global::CsrMatrix
        || (*class == Global::CopyRegReconstructor
            && args.first() == Some(&Value::Global(Global::CsrMatrix)));
    if !ok_class {
        return Err(structure("expected a scipy.sparse.csr_matrix"));
    }
    let Value::Dict(d) = state.as_ref() else {
        return Err(structure("csr_matrix state is not a dict"));
    };
    let get =
        |k: &str| dict_get(d, k).ok_or_else(|| structure(format!("csr_matrix state lacks `{k}`")));
    let Value::Tuple(shape) = get("_shape")? else {
        return Err(structure("csr_matrix `_shape` is not a tuple"));
    };
    let dims: Vec<usize> = shape
        .iter()
        .map(|d| d.as_int().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<_>>()
        .filter(|d: &Vec<usize>| d.len() == 2)
        .ok_or_else(|| structure("csr_matrix `_shape` is not two non-negative ints"))?;
    let arr = |k: &str| -> Result<Vec<f64>, PickleError> {
        let a = ndarray_from_value(get(k)?)?;
        if a.shape.len() != 1 {
            return Err(structure(format!(
                "csr_matrix `{k}` is not one-dimensional"
            )));
        }
        Ok(a.data)
    };
    Ok(RawCsr {
        rows: dims[0],
        cols: dims[1],
        indptr: arr("indptr")?,
        indices: arr("indices")?,
        data: arr("data")?,
    })
}

/// Interpret a value as the Planetoid `graph`: a dict (or defaultdict) of int → list of ints.
pub fn adjacency_from_value(v: &Value) -> Result<Vec<(i64, Vec<i64>)>, PickleError> {
    let items = match v {
        Value::Instance {
            class: Global::DefaultDict,
            items,
            ..
        } => items,
        Value::Dict(items) => items,
        _ => return Err(structure("graph is not a dict")),
    };
    items
        .iter()
        .map(|(k, vs)| {
            let k = k
                .as_int()
                .ok_or_else(|| structure("graph key is not an int"))?;
            let Value::List(vs) = vs else {
                return Err(structure(format!("graph value of node {k} is not a list")));
            };
            let vs = vs
                .iter()
                .map(|x| {
                    x.as_int()
                        .ok_or_else(|| structure(format!("neighbour of node {k} is not an int")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((k, vs))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Protocol-2 pickle of a numpy array via `_reconstruct`, as numpy writes it.
    pub(crate) fn ndarray_pickle(shape: &[u32], dtype: &str, fortran: bool, raw: &[u8]) -> Vec<u8> {
        let mut p = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02K\x00\x85U\x01b\x87Rq\x03(K\x01(".to_vec();
        for &d in shape {
            p.push(b'J');
            p.extend(d.to_le_bytes());
        }
        p.extend(b"tcnumpy\ndtype\nq\x04U");
        p.push(dtype.len() as u8);
        p.extend(dtype.as_bytes());
        p.extend(b"K\x00K\x01\x87Rq\x05(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb");
        p.push(if fortran { 0x88 } else { 0x89 });
        p.push(b'T');
        p.extend((raw.len() as u32).to_le_bytes());
        p.extend(raw);
        p.extend(b"tb.");
        p
    }

    #[test]
    fn ndarray_round_trip_c_and_fortran() {
        let vals = [1.5f64, -2.0, 3.25, 4.0, 0.0, -6.5];
        let raw: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = ndarray_from_value(&parse(&ndarray_pickle(&[2, 3], "f8", false, &raw)).unwrap())
            .unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vals);
        // Fortran: memory holds columns; element (i, j) = raw[j*2 + i].
        let f = ndarray_from_value(&parse(&ndarray_pickle(&[2, 3], "f8", true, &raw)).unwrap())
            .unwrap();
        assert_eq!(f.data, vec![1.5, 3.25, 0.0, -2.0, 4.0, -6.5]);
        let ints: Vec<u8> = [7i32, -1, 300]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let i =
            ndarray_from_value(&parse(&ndarray_pickle(&[3], "i4", false, &ints)).unwrap()).unwrap();
        assert_eq!(i.data, vec![7.0, -1.0, 300.0]);
        // Data length must match the shape.
        let e = ndarray_from_value(&parse(&ndarray_pickle(&[2, 2], "f8", false, &raw)).unwrap())
            .unwrap_err();
        assert!(
            matches!(e, PickleError::Structure(ref m) if m.contains("needs 32 bytes")),
            "{e}"
        );
    }

    #[test]
    fn memo_shares_mutable_objects_like_python() {
        // d = defaultdict(list); L = []; d[0] = L; d[1] = L; L.append(5)
        let p = b"\x80\x02ccollections\ndefaultdict\nq\x00c__builtin__\nlist\nq\x01\x85Rq\x02(K\x00]q\x03K\x01h\x03uh\x03K\x05a0.";
        let v = parse(p).unwrap();
        let adj = adjacency_from_value(&v).unwrap();
        assert_eq!(adj, vec![(0, vec![5]), (1, vec![5])]);
    }

    #[test]
    fn refuses_globals_off_the_allow_list() {
        let p = b"\x80\x02cos\nsystem\nq\x00U\x02lsq\x01\x85R.";
        assert_eq!(
            parse(p).unwrap_err(),
            PickleError::GlobalNotAllowed {
                module: "os".into(),
                name: "system".into()
            }
        );
        let p = b"\x80\x02c__builtin__\neval\n.";
        assert!(matches!(
            parse(p),
            Err(PickleError::GlobalNotAllowed { .. })
        ));
    }

    #[test]
    fn huge_declared_lengths_are_truncation_not_allocation() {
        let p = b"\x80\x02T\xff\xff\xff\x7fabc";
        assert_eq!(
            parse(p).unwrap_err(),
            PickleError::Truncated {
                offset: 2,
                opcode: b'T'
            }
        );
        assert_eq!(
            parse(b"\x80\x02K").unwrap_err(),
            PickleError::Truncated {
                offset: 2,
                opcode: b'K'
            }
        );
        assert_eq!(parse(b"\x80\x02K\x01").unwrap_err(), PickleError::NoStop);
    }

    #[test]
    fn deep_nesting_cycles_and_exponential_sharing_are_bounded() {
        // 100 000 nested lists.
        let mut p = b"\x80\x02".to_vec();
        p.extend(std::iter::repeat_n(b']', 100_000));
        p.extend(std::iter::repeat_n(b'a', 99_999));
        p.push(b'.');
        assert!(matches!(parse(&p), Err(PickleError::Structure(_))));
        // L = []; L.append(L)
        assert!(matches!(
            parse(b"\x80\x02]q\x00h\x00a."),
            Err(PickleError::Structure(_))
        ));
        // t = (t, t) forty times: 2^40 nodes if expanded naively.
        let mut p = b"\x80\x02]q\x00".to_vec();
        for _ in 0..40 {
            p.extend(b"0h\x00h\x00\x86q\x00");
        }
        p.push(b'.');
        let r = parse(&p);
        assert!(
            matches!(r, Err(PickleError::Structure(ref m)) if m.contains("too many")),
            "{r:?}"
        );
    }

    #[test]
    fn unknown_opcode_and_stack_errors() {
        assert_eq!(
            parse(b"\x80\x02\xff.").unwrap_err(),
            PickleError::UnknownOpcode {
                offset: 2,
                opcode: 0xff
            }
        );
        assert!(matches!(
            parse(b"\x80\x02a."),
            Err(PickleError::Corrupt { .. })
        ));
        assert!(matches!(
            parse(b"\x80\x02h\x07."),
            Err(PickleError::Corrupt { .. })
        ));
        assert!(matches!(
            parse(b"\x80\x02K\x01K\x02."),
            Err(PickleError::Corrupt { .. })
        ));
        assert!(matches!(
            parse(b"\x80\x05K\x01."),
            Err(PickleError::Corrupt { .. })
        ));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut s = 0x9e3779b97f4a7c15u64;
        let ops = b"\x80\x02cqrhj(t)\x85\x86\x87}]aeusJKMUTN\x88\x89R\x81b.01G\x8a";
        for _ in 0..20_000 {
            let mut p = vec![0x80, 2];
            for _ in 0..(s % 40) {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                p.push(if s.is_multiple_of(3) {
                    (s >> 8) as u8
                } else {
                    ops[(s >> 16) as usize % ops.len()]
                });
            }
            let _ = parse(&p);
        }
    }
}
