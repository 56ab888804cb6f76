// The Node-RED function API inside one node's QuickJS context.
// Python registered __py_* callables before this runs; they are captured here and removed from
// the global object so a body cannot call them directly. Messages cross as JSON: Buffers as
// {"__fw_b__": latin-1 string}, Python values JSON cannot carry as {"__fw_r__": n} references, and
// a message's big top-level values only when read (see "lazy messages").
(function (g) {
    "use strict";
    const py = {
        send: g.__py_send, log: g.__py_log, error: g.__py_error, status: g.__py_status,
        ctx: g.__py_ctx, env: g.__py_env, timer: g.__py_timer, finish: g.__py_finish,
        get: g.__py_get, release: g.__py_release,
    };
    for (const k of Object.keys(py)) delete g["__py_" + k];
    const INFO = JSON.parse(g.__fw_info);
    delete g.__fw_info;

    // -- Buffer: Node's common subset over Uint8Array ------------------------------------------
    function utf8Encode(s) {
        const out = [];
        for (let i = 0; i < s.length; i++) {
            let c = s.charCodeAt(i);
            if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
                const d = s.charCodeAt(i + 1);
                if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
                else c = 0xfffd;
            } else if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
            if (c < 0x80) out.push(c);
            else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
            else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
            else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        }
        return out;
    }
    function utf8Decode(b, start, end) {
        const parts = [];
        let chunk = [];
        for (let i = start; i < end;) {
            const c = b[i];
            let cp = 0xfffd, n = 1;
            if (c < 0x80) cp = c;
            else if (c >= 0xc2 && c < 0xe0 && i + 1 < end && (b[i + 1] & 0xc0) === 0x80) { cp = ((c & 31) << 6) | (b[i + 1] & 63); n = 2; }
            else if (c >= 0xe0 && c < 0xf0 && i + 2 < end && (b[i + 1] & 0xc0) === 0x80 && (b[i + 2] & 0xc0) === 0x80) {
                cp = ((c & 15) << 12) | ((b[i + 1] & 63) << 6) | (b[i + 2] & 63); n = 3;
                if (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000)) cp = 0xfffd;
            } else if (c >= 0xf0 && c < 0xf5 && i + 3 < end && (b[i + 1] & 0xc0) === 0x80 && (b[i + 2] & 0xc0) === 0x80 && (b[i + 3] & 0xc0) === 0x80) {
                cp = ((c & 7) << 18) | ((b[i + 1] & 63) << 12) | ((b[i + 2] & 63) << 6) | (b[i + 3] & 63); n = 4;
                if (cp < 0x10000 || cp > 0x10ffff) cp = 0xfffd;
            }
            if (cp >= 0x10000) { cp -= 0x10000; chunk.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 1023)); }
            else chunk.push(cp);
            if (chunk.length > 8000) { parts.push(String.fromCharCode.apply(null, chunk)); chunk = []; }
            i += n;
        }
        parts.push(String.fromCharCode.apply(null, chunk));
        return parts.join("");
    }
    const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const B64R = {};
    for (let i = 0; i < 64; i++) B64R[B64[i]] = i;
    B64R["-"] = 62; B64R["_"] = 63;
    function latin1(b, start, end) {
        const parts = [];
        for (let i = start; i < end; i += 8000) parts.push(String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + 8000))));
        return parts.join("");
    }

    class Buffer extends Uint8Array {
        static from(value, encOrOffset, length) {
            if (typeof value === "string") return Buffer._fromString(value, encOrOffset);
            if (value instanceof ArrayBuffer) return new Buffer(value, encOrOffset || 0, length === undefined ? value.byteLength - (encOrOffset || 0) : length);
            if (value && value.type === "Buffer" && Array.isArray(value.data)) return Buffer._of(value.data);
            if (value && (Array.isArray(value) || ArrayBuffer.isView(value) || typeof value.length === "number")) return Buffer._of(value);
            throw new TypeError("The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.");
        }
        static _of(items) {
            const b = new Buffer(items.length);
            for (let i = 0; i < items.length; i++) b[i] = items[i] & 255;
            return b;
        }
        static _fromString(s, enc) {
            enc = (enc || "utf8").toLowerCase();
            if (enc === "utf8" || enc === "utf-8") return Buffer._of(utf8Encode(s));
            if (enc === "latin1" || enc === "binary" || enc === "ascii") {
                const b = new Buffer(s.length);
                for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 255;
                return b;
            }
            if (enc === "hex") {
                const n = s.length >> 1, b = [];
                for (let i = 0; i < n; i++) {
                    const v = parseInt(s.substr(i * 2, 2), 16);
                    if (Number.isNaN(v)) break;
                    b.push(v);
                }
                return Buffer._of(b);
            }
            if (enc === "base64" || enc === "base64url") {
                const out = [];
                let bits = 0, acc = 0;
                for (const ch of s) {
                    const v = B64R[ch];
                    if (v === undefined) continue;
                    acc = (acc << 6) | v; bits += 6;
                    if (bits >= 8) { bits -= 8; out.push((acc >> bits) & 255); }
                }
                return Buffer._of(out);
            }
            if (enc === "ucs2" || enc === "utf16le" || enc === "ucs-2" || enc === "utf-16le") {
                const b = new Buffer(s.length * 2);
                for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); b[2 * i] = c & 255; b[2 * i + 1] = c >> 8; }
                return b;
            }
            throw new TypeError("Unknown encoding: " + enc);
        }
        static alloc(size, fill) {
            const b = new Buffer(size);
            if (fill !== undefined) b.fill(typeof fill === "string" ? fill.charCodeAt(0) : fill);
            return b;
        }
        static allocUnsafe(size) { return new Buffer(size); }
        static isBuffer(b) { return b instanceof Buffer; }
        static isEncoding(e) { return ["utf8", "utf-8", "hex", "base64", "base64url", "latin1", "binary", "ascii", "ucs2", "utf16le"].includes(String(e).toLowerCase()); }
        static byteLength(s, enc) { return typeof s === "string" ? Buffer.from(s, enc).length : s.byteLength; }
        static concat(list, total) {
            if (total === undefined) total = list.reduce((n, b) => n + b.length, 0);
            const out = Buffer.alloc(total);
            let at = 0;
            for (const b of list) {
                if (at >= total) break;
                const part = b.length > total - at ? b.subarray(0, total - at) : b;
                out.set(part, at); at += part.length;
            }
            return out;
        }
        static compare(a, b) { return a.compare(b); }
        toString(enc, start, end) {
            start = Math.max(0, start || 0);
            end = end === undefined ? this.length : Math.min(end, this.length);
            if (end <= start) return "";
            enc = (enc || "utf8").toLowerCase();
            if (enc === "utf8" || enc === "utf-8") return utf8Decode(this, start, end);
            if (enc === "latin1" || enc === "binary") return latin1(this, start, end);
            if (enc === "ascii") { let s = ""; for (let i = start; i < end; i++) s += String.fromCharCode(this[i] & 127); return s; }
            if (enc === "hex") { const p = []; for (let i = start; i < end; i++) p.push((this[i] < 16 ? "0" : "") + this[i].toString(16)); return p.join(""); }
            if (enc === "base64" || enc === "base64url") {
                const p = [];
                for (let i = start; i < end; i += 3) {
                    const n = (this[i] << 16) | ((i + 1 < end ? this[i + 1] : 0) << 8) | (i + 2 < end ? this[i + 2] : 0);
                    p.push(B64[(n >> 18) & 63], B64[(n >> 12) & 63], i + 1 < end ? B64[(n >> 6) & 63] : "=", i + 2 < end ? B64[n & 63] : "=");
                }
                const s = p.join("");
                return enc === "base64" ? s : s.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
            }
            if (enc === "ucs2" || enc === "utf16le" || enc === "ucs-2" || enc === "utf-16le") {
                let s = ""; for (let i = start; i + 1 < end; i += 2) s += String.fromCharCode(this[i] | (this[i + 1] << 8)); return s;
            }
            throw new TypeError("Unknown encoding: " + enc);
        }
        toJSON() {
            if (marshalling) { sawSpecial = true; return { __fw_b__: latin1(this, 0, this.length) }; }
            return { type: "Buffer", data: Array.from(this) };
        }
        slice(start, end) { return this.subarray(start, end); }
        equals(other) { return this.compare(other) === 0; }
        compare(other) {
            const n = Math.min(this.length, other.length);
            for (let i = 0; i < n; i++) if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1;
            return this.length === other.length ? 0 : (this.length < other.length ? -1 : 1);
        }
        write(s, offset, enc) {
            const b = Buffer.from(s, enc || "utf8");
            offset = offset || 0;
            const n = Math.min(b.length, this.length - offset);
            this.set(b.subarray(0, n), offset);
            return n;
        }
        copy(target, targetStart, start, end) {
            const part = this.subarray(start || 0, end === undefined ? this.length : end);
            const n = Math.min(part.length, target.length - (targetStart || 0));
            target.set(part.subarray(0, n), targetStart || 0);
            return n;
        }
        indexOf(value, from, enc) {
            if (typeof value === "number") return super.indexOf(value, from);
            const needle = typeof value === "string" ? Buffer.from(value, enc) : value;
            outer: for (let i = from || 0; i <= this.length - needle.length; i++) {
                for (let j = 0; j < needle.length; j++) if (this[i + j] !== needle[j]) continue outer;
                return i;
            }
            return -1;
        }
        includes(value, from, enc) { return this.indexOf(value, from, enc) !== -1; }
        readUInt8(o) { return this[o || 0]; }
        readInt8(o) { const v = this[o || 0]; return v > 127 ? v - 256 : v; }
        readUInt16BE(o) { o = o || 0; return (this[o] << 8) | this[o + 1]; }
        readUInt16LE(o) { o = o || 0; return this[o] | (this[o + 1] << 8); }
        readInt16BE(o) { const v = this.readUInt16BE(o); return v > 32767 ? v - 65536 : v; }
        readInt16LE(o) { const v = this.readUInt16LE(o); return v > 32767 ? v - 65536 : v; }
        readUInt32BE(o) { o = o || 0; return ((this[o] << 24) >>> 0) + ((this[o + 1] << 16) | (this[o + 2] << 8) | this[o + 3]); }
        readUInt32LE(o) { o = o || 0; return ((this[o + 3] << 24) >>> 0) + ((this[o + 2] << 16) | (this[o + 1] << 8) | this[o]); }
        readInt32BE(o) { return this.readUInt32BE(o) | 0; }
        readInt32LE(o) { return this.readUInt32LE(o) | 0; }
        readFloatBE(o) { return new DataView(this.buffer, this.byteOffset).getFloat32(o || 0, false); }
        readFloatLE(o) { return new DataView(this.buffer, this.byteOffset).getFloat32(o || 0, true); }
        readDoubleBE(o) { return new DataView(this.buffer, this.byteOffset).getFloat64(o || 0, false); }
        readDoubleLE(o) { return new DataView(this.buffer, this.byteOffset).getFloat64(o || 0, true); }
        writeUInt8(v, o) { this[o || 0] = v; return (o || 0) + 1; }
        writeUInt16BE(v, o) { o = o || 0; this[o] = v >> 8; this[o + 1] = v; return o + 2; }
        writeUInt16LE(v, o) { o = o || 0; this[o] = v; this[o + 1] = v >> 8; return o + 2; }
        writeUInt32BE(v, o) { o = o || 0; new DataView(this.buffer, this.byteOffset).setUint32(o, v, false); return o + 4; }
        writeUInt32LE(v, o) { o = o || 0; new DataView(this.buffer, this.byteOffset).setUint32(o, v, true); return o + 4; }
    }
    Object.defineProperty(Buffer, Symbol.species, { get() { return Buffer; } });

    // -- crossing into and out of Python ------------------------------------------------------
    let marshalling = false, sawSpecial = false;
    function revive(key, value) {
        if (value !== null && typeof value === "object" && !Array.isArray(value)) {
            if (typeof value.__fw_b__ === "string") return Buffer.from(value.__fw_b__, "latin1");
        }
        return value;
    }
    function parse(json, special) { return special ? JSON.parse(json, revive) : JSON.parse(json); }
    // "0json" or "1json": the flag says whether Buffers or lazy keys are inside (Python then decodes them).
    function dump(value) {
        marshalling = true; sawSpecial = false;
        try {
            const text = JSON.stringify(value);
            return flat(sawSpecial ? "1" : "0", text === undefined ? "null" : text);
        } finally { marshalling = false; }
    }
    // Strings handed to Python must be flat: the binding cannot convert QuickJS's concatenation
    // ropes (a long "a" + b fails with "Unknown quickjs tag"); join builds a flat string.
    function flat(...parts) { return parts.join(""); }
    // A send Python could not carry out is an error in the body that sent, never a message silently lost.
    function send(id, flagged) {
        const reply = py.send(id, flagged);
        if (typeof reply === "string" && reply[0] === "!") throw new Error(reply.slice(1));
    }
    function fromPy(reply) {
        if (reply === "") return undefined;
        return parse(reply.slice(1), reply[0] === "1");
    }

    // -- lazy messages ----------------------------------------------------------------------------
    // Python sends small top-level values with the message and leaves the big ones (objects, long
    // strings, bytes, Python objects) behind. Each of those is an accessor here that asks Python for its
    // value on first read and then becomes an ordinary data property, in the same place in key order.
    // On the way out, dump's JSON.stringify reads an untouched key like any other, and while dump runs
    // its accessor answers a marker {"__fw_l__": [sid, key, copy]} instead: Python puts the original value
    // there, so a key no body reads never crosses. Why accessors and not a Proxy: a Proxy pays a trap on
    // every access for the whole call, an accessor only on the first; a Python call costs about as much
    // as parsing a tiny JSON text (~2 µs), so one per key read is cheap next to converting a 10 KB value
    // both ways (~500 µs); and answering the marker from the accessor costs dump nothing, where a
    // toJSON that rebuilt the object cost ~7 µs a message (measured). What a body can tell: until the
    // first read, Object.getOwnPropertyDescriptor shows get/set, and a toJSON method of the body's own
    // that reads an untouched key while the message is being sent sees the marker.
    const LAZY = Symbol("lazy");
    const getters = new Map();
    function accessor(name) {
        let d = getters.get(name);
        if (d === undefined) {
            d = {
                get() { return marshalling ? marker(this, name) : load(this, name); },
                set(value) { keep(this, name, value); },
                enumerable: true, configurable: true,
            };
            getters.set(name, d);
        }
        return d;
    }
    function keep(obj, name, value) {
        try { Object.defineProperty(obj, name, { value, writable: true, enumerable: true, configurable: true }); }
        catch (_) { lazyOf(obj).values.set(name, value); }  // frozen or sealed: the accessor stays, the value is kept beside it
    }
    function lazyOf(obj) {
        const lz = obj[LAZY];
        if (lz.values === null) lz.values = new Map();
        return lz;
    }
    function load(obj, name) {
        const lz = obj[LAZY];
        if (lz.values !== null && lz.values.has(name)) return lz.values.get(name);
        const reply = py.get(lz.src.sid, flat(name));
        if (reply[0] === "!") throw new Error(reply.slice(1));
        const value = fromPy(reply);
        keep(obj, name, value);
        return value;
    }
    function marker(obj, name) {
        const lz = obj[LAZY];
        if (lz.values !== null && lz.values.has(name)) return lz.values.get(name);
        sawSpecial = true;
        return { __fw_l__: [lz.src.sid, name, lz.copy ? 1 : 0] };
    }
    function untouched(obj, name, lz) {
        const d = getters.get(name);
        return d !== undefined && Object.getOwnPropertyDescriptor(obj, name).get === d.get && !(lz.values !== null && lz.values.has(name));
    }
    function isLazy(v) { return Object.hasOwn(v, LAZY); }
    function makeLazy(msg, names, sid) {
        const src = { sid };
        Object.defineProperty(msg, LAZY, { value: { src, copy: false, values: null } });
        for (const name of names) Object.defineProperty(msg, name, accessor(name));
        watch(src, sid);
    }
    // Python keeps the originals of a message while any lazy object made from it lives (the message
    // itself, its clones): QuickJS frees an object as soon as nothing refers to it, so a WeakRef tells
    // when. Checked in batches; the batch grows with the objects a body keeps (in an interval, a global).
    let watched = [], sweepAt = 64;
    function watch(src, sid) {
        watched.push([new WeakRef(src), sid]);
        if (watched.length < sweepAt) return;
        const dead = [], alive = [];
        for (const entry of watched) (entry[0].deref() === undefined ? dead : alive).push(entry);
        watched = alive;
        sweepAt = Math.max(64, alive.length * 2);
        if (dead.length) py.release(dead.map((entry) => entry[1]).join(","));
    }
    function cloneLazy(v) {
        const lz = v[LAZY];
        const out = {};
        Object.defineProperty(out, LAZY, { value: { src: lz.src, copy: true, values: null } });
        for (const k of Object.keys(v)) {
            if (untouched(v, k, lz)) Object.defineProperty(out, k, accessor(k));
            else Object.defineProperty(out, k, { value: cloneMessage(v[k]), writable: true, enumerable: true, configurable: true });
        }
        return out;
    }
    function errorText(e) {
        if (e instanceof Error) {
            let text = e.name + ": " + e.message;
            if (e instanceof ReferenceError) {
                const m = /<input>:(\d+):(\d+)/.exec(e.stack || "");
                if (m) text += " (line " + m[1] + ", col " + m[2] + ")";
            }
            return flat(text);
        }
        if (typeof e === "string") return flat(e);
        if (e === null) return "InternalError: out of memory (or null was thrown)";
        try { return JSON.stringify(e); } catch (_) { return String(e); }
    }

    // -- RED.util -------------------------------------------------------------------------------
    function cloneMessage(v) {
        if (v === null || typeof v !== "object") return v;
        if (v instanceof Buffer) return Buffer.from(v);
        if (v instanceof Date) return new Date(v.getTime());
        if (v instanceof RegExp) return new RegExp(v.source, v.flags);
        if (Array.isArray(v)) return v.map(cloneMessage);
        if (typeof v.__fw_r__ === "number") return v;  // a Python object (e.g. msg.res): shared, not copied
        if (isLazy(v)) return cloneLazy(v);  // untouched keys stay untouched: Python copies them if they leave
        const out = {};
        for (const k of Object.keys(v)) out[k] = cloneMessage(v[k]);
        return out;
    }
    function parsePath(expr) {
        const parts = [];
        const re = /(?:^|\.)([^.[\]]+)|\[(\d+)\]|\[\s*(["'])((?:\\.|(?!\3).)*)\3\s*\]/gy;
        let at = 0;
        expr = String(expr);
        while (at < expr.length) {
            re.lastIndex = at;
            const m = re.exec(expr);
            if (!m || m.index !== at) throw new Error("Invalid property expression: " + expr);
            parts.push(m[1] !== undefined ? m[1] : m[2] !== undefined ? Number(m[2]) : m[4].replace(/\\(.)/g, "$1"));
            at = re.lastIndex;
        }
        if (!parts.length) throw new Error("Invalid property expression: " + expr);
        return parts;
    }
    function getMessageProperty(msg, expr) {
        const parts = parsePath(expr);
        if (parts[0] === "msg") parts.shift();
        let v = msg;
        for (const p of parts) {
            if (v === null || v === undefined) return undefined;
            v = v[p];
        }
        return v;
    }
    function setMessageProperty(msg, expr, value, createMissing) {
        const parts = parsePath(expr);
        if (parts[0] === "msg") parts.shift();
        if (createMissing === undefined) createMissing = value !== undefined;
        let o = msg;
        for (let i = 0; i < parts.length - 1; i++) {
            let next = o[parts[i]];
            if (next === null || typeof next !== "object") {
                if (!createMissing) return false;
                next = o[parts[i]] = typeof parts[i + 1] === "number" ? [] : {};
            }
            o = next;
        }
        const last = parts[parts.length - 1];
        if (value === undefined) delete o[last]; else o[last] = value;
        return true;
    }
    function generateId() {
        let s = "";
        for (let i = 0; i < 16; i++) s += Math.floor(Math.random() * 16).toString(16);
        return s;
    }
    const RED = {
        util: {
            cloneMessage, getMessageProperty, setMessageProperty, generateId,
            getSetting: (node, name) => env.get(name),
            encodeObject: (m) => m,
        },
    };

    // -- context, env -----------------------------------------------------------------------------
    function ask(op, scope, args) {
        const reply = py.ctx(op, scope, dump(args));
        if (reply[0] === "!") throw new Error(reply.slice(1));
        return fromPy(reply);
    }
    function store(scope) {
        // Node-RED forms: get(key[, store][, cb]), set(key, value[, store][, cb]), keys([store][, cb]).
        return {
            get(key, storeName, cb) {
                if (typeof storeName === "function") { cb = storeName; storeName = undefined; }
                const value = ask("get", scope, [key, storeName === undefined ? null : storeName]);
                if (cb) { cb(null, ...(Array.isArray(key) ? value : [value])); return; }
                return value;
            },
            set(key, value, storeName, cb) {
                if (typeof storeName === "function") { cb = storeName; storeName = undefined; }
                ask("set", scope, [key, value === undefined ? null : value, storeName === undefined ? null : storeName]);
                if (cb) cb(null);
            },
            keys(storeName, cb) {
                if (typeof storeName === "function") { cb = storeName; storeName = undefined; }
                const keys = ask("keys", scope, [storeName === undefined ? null : storeName]);
                if (cb) { cb(null, keys); return; }
                return keys;
            },
        };
    }
    const context = store("node");
    context.flow = store("flow");
    context.global = store("global");
    const env = { get(name) { return fromPy(py.env(flat(String(name)))); } };

    // -- calls: one per message ------------------------------------------------------------------
    // A call stays open while its setTimeout timers are pending, its promise unsettled, or (when the
    // body calls node.done) until node.done(); Python holds the message until then.
    const calls = new Map();
    let current = 0;
    function callOf(id) { return calls.get(id); }
    function normalise(call, msgs, cloneFirst) {
        if (msgs === null || msgs === undefined) return null;
        if (!Array.isArray(msgs)) msgs = [msgs];
        let count = 0;
        const ports = [];
        for (let m = 0; m < msgs.length; m++) {
            let port = msgs[m];
            if (port === null || port === undefined) { ports.push(null); continue; }
            if (!Array.isArray(port)) port = [port];
            const out = [];
            for (let n = 0; n < port.length; n++) {
                let msg = port[n];
                if (msg === null || msg === undefined) continue;
                if (typeof msg === "object" && !(msg instanceof Buffer) && !Array.isArray(msg)) {
                    if (count === 0 && cloneFirst) msg = cloneMessage(msg);
                    if (call && call.msgid !== undefined) msg._msgid = call.msgid;
                    out.push(msg);
                    count++;
                } else {
                    const type = typeof msg === "object" ? (msg instanceof Buffer ? "Buffer" : Array.isArray(msg) ? "Array" : "Date") : typeof msg;
                    py.error(call ? call.id : 0, "Function tried to send a message of type " + type, "");
                }
            }
            ports.push(out.length ? out : null);
        }
        return count ? ports : null;
    }
    function settle(call) {
        if (!call.open || call.pending || call.timers > 0 || (call.usesDone && !call.doneCalled)) return;
        call.open = false;
        calls.delete(call.id);
        if (call.async) py.finish(call.id, "");
    }
    // The node object: one per call for async bodies (an await loses track of which message is
    // current), one shared by every call otherwise, which reads the current call when used.
    function makeNode(fixed) {
        const callNow = fixed === undefined ? () => (current ? callOf(current) : undefined) : () => fixed;
        return {
            id: INFO.id, name: INFO.name, path: INFO.path, outputCount: INFO.outputs,
            send(msgs, cloneMsg) {
                const call = callNow();
                const ports = normalise(call, msgs, cloneMsg !== false);
                if (ports) send(call ? call.id : 0, dump(ports));
            },
            done() {
                const call = callNow();
                if (!call || call.doneCalled) return;
                call.doneCalled = true;
                if (call.usesDone) settle(call);
            },
            error(err, msg) { const call = callNow(); py.error(call ? call.id : 0, errorText(err), msg && typeof msg === "object" ? dump(msg) : ""); },
            warn(text) { py.log(0, "warn", typeof text === "string" ? flat(text) : errorText(text)); },
            log(text) { py.log(0, "info", flat(typeof text === "string" ? text : JSON.stringify(text))); },
            debug(text) { py.log(0, "debug", flat(typeof text === "string" ? text : JSON.stringify(text))); },
            trace(text) { py.log(0, "trace", flat(typeof text === "string" ? text : JSON.stringify(text))); },
            status(fill, shape, text) {
                const s = fill !== null && typeof fill === "object" ? fill : (fill === undefined ? {} : { fill, shape, text });
                py.status(dump(s));
            },
            on(event) { if (event === "input") throw new Error("Cannot add listener to 'input' event within Function"); },
        };
    }
    let sharedNode = null;

    // -- timers: Python's loop runs them ----------------------------------------------------------
    const timers = new Map();
    let timerSeq = 0;
    function addTimer(fn, delay, args, repeat) {
        if (typeof fn !== "function") throw new TypeError("The \"callback\" argument must be of type function");
        const id = ++timerSeq;
        const call = current ? callOf(current) : undefined;
        timers.set(id, { fn, args, repeat, call });
        if (call && !repeat) call.timers++;
        py.timer(id, Number(delay) || 0, repeat);
        return id;
    }
    function dropTimer(id) {
        const t = timers.get(id);
        if (!t) return;
        timers.delete(id);
        py.timer(id, -1, false);
        if (t.call && !t.repeat) { t.call.timers--; settle(t.call); }
    }
    class Timeout {
        constructor(id) { this.id = id; }
        [Symbol.toPrimitive]() { return this.id; }
        unref() { return this; } ref() { return this; } hasRef() { return true; }
    }
    function idOf(t) { return t instanceof Timeout ? t.id : Number(t); }
    g.setTimeout = (fn, delay, ...args) => new Timeout(addTimer(fn, delay, args, false));
    g.setInterval = (fn, delay, ...args) => new Timeout(addTimer(fn, delay, args, true));
    g.clearTimeout = g.clearInterval = (t) => { if (t !== undefined && t !== null) dropTimer(idOf(t)); };
    g.setImmediate = (fn, ...args) => new Timeout(addTimer(fn, 0, args, false));
    g.clearImmediate = g.clearTimeout;
    g.queueMicrotask = (fn) => { Promise.resolve().then(fn); };

    // -- entry points for Python ----------------------------------------------------------------
    let body = null, isAsync = false, usesDone = false;
    function compileBody(source, async_, done) {
        body = (0, eval)("(" + (async_ ? "async " : "") + "function (msg, node, __fw__) {" + source + "\n})");
        isAsync = async_;
        usesDone = done;
        sharedNode = makeNode(undefined);
    }
    function finishWith(call, result) {
        try {
            const ports = normalise(call, result, false);
            if (ports) send(call.id, dump(ports));
        } catch (e) { call.failed = true; py.finish(call.id, errorText(e)); return; }
        call.pending = false;
        settle(call);
    }
    // Returns "R" + flags + json result, "E" + error text; flags: [0|1 buffers][H held open | - done].
    // `lazy`: "" or the JSON list of the keys Python left behind (see lazy messages).
    function run(json, special, id, lazy) {
        const msg = parse(json, special);
        if (lazy !== "") makeLazy(msg, JSON.parse(lazy), id);
        const call = { id, msgid: msg._msgid, open: true, pending: isAsync, timers: 0, usesDone, doneCalled: false, async: false, frame: null };
        calls.set(id, call);
        current = id;
        let result;
        try {
            if (isAsync) {
                // Only the body's suspended frame refers to `frame`: when a stop ends that frame, the
                // WeakRef empties, which is how `stopped` tells whose continuation it was.
                const frame = {};
                call.frame = new WeakRef(frame);
                result = body(msg, makeNode(call), frame);
            } else result = body(msg, sharedNode);
        } catch (e) {
            calls.delete(id);
            return flat("E", errorText(e));
        } finally { current = 0; }
        if (isAsync) {
            call.async = true;
            result.then(
                (value) => { current = id; try { finishWith(call, value); } finally { current = 0; } },
                (e) => { call.open = false; calls.delete(id); py.finish(id, flat("!", errorText(e))); });
            return "RP";
        }
        call.pending = false;
        const ports = normalise(call, result, false);
        const out = ports ? dump(ports) : "0null";
        settle(call);
        if (call.open) call.async = true;
        return flat("R", out[0], call.open ? "H" : "-", out.slice(1));
    }
    function fire(id) {
        const t = timers.get(id);
        if (!t) return;
        if (!t.repeat) timers.delete(id);
        current = t.call ? t.call.id : 0;
        try { t.fn.apply(null, t.args); }
        catch (e) { py.error(current, errorText(e), "0{}"); }
        finally {
            current = 0;
            if (t.call && !t.repeat) { t.call.timers--; settle(t.call); }
        }
    }
    // initialize / finalize: node.send sends new messages; finalize may not send.
    function hook(source, canSend) {
        const node = makeNode(null);
        if (!canSend) node.send = () => py.error(0, "Cannot send from close function", "");
        const f = (0, eval)("(async function (node) {" + source + "\n})");
        let failure = null;
        f(node).catch((e) => { failure = errorText(e); });
        return () => failure;
    }
    function stopTimers() { for (const id of Array.from(timers.keys())) dropTimer(id); }
    // After JavaScript was stopped midway (time limit, memory limit, shutdown): no `finally` ran, so
    // this closes the calls that were stopped and answers their ids ("1,2"): the one running a timer
    // callback or its synchronous part (`current`), and those awaiting whose frame has ended.
    function stopped() {
        const ids = [];
        for (const [id, call] of calls) {
            if (id === current || (call.pending && call.frame !== null && call.frame.deref() === undefined)) {
                call.open = false;
                calls.delete(id);
                ids.push(id);
            }
        }
        current = 0;
        return ids.join(",");
    }
    g.__fw__ = { compileBody, run, fire, hook, stopTimers, stopped };

    g.Buffer = Buffer;
    g.RED = RED;
    g.context = context;
    g.flow = context.flow;
    g.global = context.global;
    g.env = env;
    g.console = {
        log: (...a) => py.log(0, "info", a.map((x) => typeof x === "string" ? x : JSON.stringify(x)).join(" ")),
        warn: (...a) => py.log(0, "warn", a.map((x) => typeof x === "string" ? x : JSON.stringify(x)).join(" ")),
        error: (...a) => py.log(0, "error", a.map((x) => typeof x === "string" ? x : JSON.stringify(x)).join(" ")),
    };
    g.console.info = g.console.log; g.console.debug = g.console.log;
})(globalThis);
