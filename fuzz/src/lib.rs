//! Shared parts of the fuzz targets: a type read from the first input bytes, the properties each target checks,
//! and an allocator that turns an outsized allocation into a crash the fuzzer records.
//!
//! Input layout of the decoder targets: `[type bytes][value bytes]`. [`split_type`] reads a bounded-depth
//! [`Type`] off the front (see [`type_to_bytes`] for its inverse, used to write the seed corpus); the rest is fed
//! to the decoder as the `DynamicValue` payload.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tfplugin::codec::{decode_json, decode_msgpack, encode_json, encode_msgpack};
use tfplugin::{Diagnostic, Type, Value};

/// Attribute names an object type can have; a byte picks one.
pub const NAMES: [&str; 8] = ["a", "b", "id", "name", "tags", "rules", "type", "value"];
/// Deepest type the front bytes can describe (nesting of list/set/map/object/tuple).
pub const MAX_TYPE_DEPTH: usize = 4;
/// Most attributes of an object type, elements of a tuple type.
pub const MAX_FIELDS: u8 = 4;

const KINDS: u8 = 9;

/// Reads a type off the front of `data`; returns it and the bytes after it. Missing bytes read as `dynamic`.
///
/// One byte per type: `b % 9` picks bool, number, string, dynamic, list, set, map, object, tuple (containers at
/// [`MAX_TYPE_DEPTH`] become the primitive `b % 4`). A list, set or map is followed by its element type; an object
/// by a count byte (`% 5`) and that many `(name byte, type)` pairs; a tuple by a count byte and the element types.
pub fn split_type(data: &[u8]) -> (Type, &[u8]) {
    let mut pos = 0;
    let ty = read_type(data, &mut pos, 0);
    (ty, &data[pos..])
}

fn next(data: &[u8], pos: &mut usize) -> Option<u8> {
    let b = data.get(*pos).copied();
    if b.is_some() {
        *pos += 1;
    }
    b
}

fn read_type(data: &[u8], pos: &mut usize, depth: usize) -> Type {
    let Some(b) = next(data, pos) else { return Type::Dynamic };
    let mut kind = b % KINDS;
    if kind >= 4 && depth >= MAX_TYPE_DEPTH {
        kind = b % 4;
    }
    match kind {
        0 => Type::Bool,
        1 => Type::Number,
        2 => Type::String,
        3 => Type::Dynamic,
        4 => Type::list(read_type(data, pos, depth + 1)),
        5 => Type::set(read_type(data, pos, depth + 1)),
        6 => Type::map(read_type(data, pos, depth + 1)),
        7 => {
            let n = next(data, pos).unwrap_or(0) % (MAX_FIELDS + 1);
            let mut attrs = std::collections::BTreeMap::new();
            for _ in 0..n {
                let name = NAMES[usize::from(next(data, pos).unwrap_or(0)) % NAMES.len()];
                attrs.insert(name.to_string(), read_type(data, pos, depth + 1));
            }
            Type::Object(attrs)
        }
        _ => {
            let n = next(data, pos).unwrap_or(0) % (MAX_FIELDS + 1);
            Type::Tuple((0..n).map(|_| read_type(data, pos, depth + 1)).collect())
        }
    }
}

/// The bytes [`split_type`] reads as `ty`. Panics if `ty` is deeper or wider than the mapping can express, or has an
/// attribute name outside [`NAMES`].
pub fn type_to_bytes(ty: &Type) -> Vec<u8> {
    let mut out = Vec::new();
    write_type(ty, &mut out, 0);
    out
}

fn write_type(ty: &Type, out: &mut Vec<u8>, depth: usize) {
    let container = |k: u8| {
        assert!(depth < MAX_TYPE_DEPTH, "type too deep for the fuzz mapping: {ty}");
        k
    };
    match ty {
        Type::Bool => out.push(0),
        Type::Number => out.push(1),
        Type::String => out.push(2),
        Type::Dynamic => out.push(3),
        Type::List(e) | Type::Set(e) | Type::Map(e) => {
            out.push(container(match ty {
                Type::List(_) => 4,
                Type::Set(_) => 5,
                _ => 6,
            }));
            write_type(e, out, depth + 1);
        }
        Type::Object(attrs) => {
            out.push(container(7));
            assert!(attrs.len() <= usize::from(MAX_FIELDS), "object too wide for the fuzz mapping");
            out.push(attrs.len() as u8);
            for (name, t) in attrs {
                let i = NAMES.iter().position(|n| n == name).expect("attribute name outside NAMES");
                out.push(i as u8);
                write_type(t, out, depth + 1);
            }
        }
        Type::Tuple(elems) => {
            out.push(container(8));
            assert!(elems.len() <= usize::from(MAX_FIELDS), "tuple too wide for the fuzz mapping");
            out.push(elems.len() as u8);
            for t in elems {
                write_type(t, out, depth + 1);
            }
        }
    }
}

/// The diagnostic the provider makes of a decode error (as `convert::decode` does), rendered: hostile input must end
/// here, never in a panic.
fn diagnose(e: tfplugin::codec::DecodeError) {
    let detail = format!("The provider could not decode the config: {e}.");
    let diag = Diagnostic::error("Invalid config received from the engine", detail).at(e.path);
    std::hint::black_box(format!("{diag:?}"));
}

/// msgpack: whatever decodes re-encodes, decodes to the same value, and re-encodes to the same bytes; a wholly
/// known value also survives a trip through JSON.
pub fn check_msgpack(ty: &Type, bytes: &[u8]) {
    let v1 = match decode_msgpack(bytes, ty) {
        Ok(v) => v,
        Err(e) => return diagnose(e),
    };
    let enc1 =
        encode_msgpack(&v1, ty).unwrap_or_else(|e| panic!("decoded value does not re-encode as {ty:?}: {e}\n{v1:?}"));
    let v2 =
        decode_msgpack(&enc1, ty).unwrap_or_else(|e| panic!("re-encoded msgpack does not decode: {e}\n{enc1:02x?}"));
    assert_eq!(v1, v2, "msgpack round trip changed the value (type {ty:?})");
    let enc2 = encode_msgpack(&v2, ty).expect("second encoding");
    assert_eq!(enc1, enc2, "msgpack encoding is not stable (type {ty:?})");
    if v1.is_wholly_known() {
        let json = encode_json(&v1, ty).unwrap_or_else(|e| panic!("known value does not encode as JSON: {e}\n{v1:?}"));
        let v3 = decode_json(&json, ty, false).unwrap_or_else(|e| {
            panic!("JSON of a msgpack value does not decode: {e}\n{}", String::from_utf8_lossy(&json))
        });
        assert_eq!(v1, v3, "msgpack -> JSON -> value changed the value (type {ty:?})");
    }
}

/// JSON, with both settings of `ignore_undefined_attributes`: whatever decodes re-encodes as JSON and decodes
/// (strictly) to the same value, re-encodes to the same bytes, and survives a trip through msgpack.
pub fn check_json(ty: &Type, bytes: &[u8]) {
    for ignore in [false, true] {
        let v1 = match decode_json(bytes, ty, ignore) {
            Ok(v) => v,
            Err(e) => {
                diagnose(e);
                continue;
            }
        };
        let enc1 = encode_json(&v1, ty)
            .unwrap_or_else(|e| panic!("decoded value does not re-encode as {ty:?} (ignore={ignore}): {e}\n{v1:?}"));
        let v2 = decode_json(&enc1, ty, false).unwrap_or_else(|e| {
            panic!("re-encoded JSON does not decode (ignore={ignore}): {e}\n{}", String::from_utf8_lossy(&enc1))
        });
        assert_eq!(v1, v2, "JSON round trip changed the value (type {ty:?}, ignore={ignore})");
        let enc2 = encode_json(&v2, ty).expect("second encoding");
        assert_eq!(enc1, enc2, "JSON encoding is not stable (type {ty:?})");
        let mp =
            encode_msgpack(&v1, ty).unwrap_or_else(|e| panic!("JSON value does not encode as msgpack: {e}\n{v1:?}"));
        let v3 = decode_msgpack(&mp, ty)
            .unwrap_or_else(|e| panic!("msgpack of a JSON value does not decode: {e}\n{mp:02x?}"));
        assert_eq!(v1, v3, "JSON -> msgpack -> value changed the value (type {ty:?})");
    }
}

/// cty type JSON: whatever parses prints, and parses back to the same type.
pub fn check_type_json(bytes: &[u8]) {
    let ty = match Type::from_json_bytes(bytes) {
        Ok(t) => t,
        Err(e) => {
            std::hint::black_box(e);
            return;
        }
    };
    std::hint::black_box(ty.to_string());
    let json = ty.to_json_bytes();
    let back = Type::from_json_bytes(&json)
        .unwrap_or_else(|e| panic!("printed type does not parse: {e}\n{}", String::from_utf8_lossy(&json)));
    assert_eq!(ty, back, "type JSON round trip changed the type");
    // The type then decodes the values of the decoders' null and unknown forms without trouble.
    assert_eq!(decode_msgpack(&[0xc0], &ty).ok(), Some(Value::Null));
    assert_eq!(decode_msgpack(&[0xd4, 0, 0], &ty).ok(), Some(Value::Unknown));
    assert_eq!(decode_json(b"null", &ty, false).ok(), Some(Value::Null));
}

/// Largest single allocation a decoder may make from inputs of at most a few KiB.
pub const MAX_ONE_ALLOCATION: usize = 64 << 20;
/// Most memory the decoders may hold at once.
pub const MAX_LIVE: usize = 256 << 20;

/// The system allocator, aborting (a crash to libFuzzer, which saves the input) on an allocation above
/// [`MAX_ONE_ALLOCATION`] or beyond [`MAX_LIVE`] bytes live. Without a sanitizer libFuzzer's `-malloc_limit_mb`
/// cannot see single allocations; this does, and `-rss_limit_mb` covers the rest.
pub struct LimitedAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" {
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
}

#[cold]
fn over_limit(size: usize) -> ! {
    let mut msg = *b"crossrepl-fuzz: unbounded allocation: a request of 0x0000000000000000 bytes exceeds the limit\n";
    let hex = b"0123456789abcdef";
    let at = msg.iter().position(|&b| b == b'x').unwrap() + 1;
    for i in 0..16 {
        msg[at + i] = hex[(size >> (60 - 4 * i)) & 0xf];
    }
    // SAFETY: writes a stack buffer to stderr; allocating here would recurse into the allocator.
    unsafe { write(2, msg.as_ptr(), msg.len()) };
    std::process::abort()
}

/// Checks a request for a block of `size` bytes that adds `growth` bytes to what is live.
fn admit(size: usize, growth: usize) {
    if size > MAX_ONE_ALLOCATION || LIVE.load(Ordering::Relaxed).saturating_add(growth) > MAX_LIVE {
        over_limit(size);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the counter only observes sizes.
unsafe impl GlobalAlloc for LimitedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        admit(layout.size(), layout.size());
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        admit(layout.size(), layout.size());
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        admit(new_size, new_size.saturating_sub(layout.size()));
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: LimitedAllocator = LimitedAllocator;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_bytes_round_trip() {
        let t = Type::object([
            ("a", Type::list(Type::map(Type::Dynamic))),
            ("rules", Type::Tuple(vec![Type::Bool, Type::set(Type::Number)])),
        ]);
        let mut bytes = type_to_bytes(&t);
        bytes.extend_from_slice(b"rest");
        assert_eq!(split_type(&bytes), (t, &b"rest"[..]));
    }
}
