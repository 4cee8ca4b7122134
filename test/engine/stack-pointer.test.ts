import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { AsyncifyError } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { stripNames } from '../helpers/strip-names.js'
import { asyncified, deferred, later } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

/** Two recursions in flight at once, resolved in reverse order: their C frames only survive on separate stacks. */
async function overlappingRecursions(wasm: Uint8Array) {
  const pending = [deferred<number>(), deferred<number>()]
  let next = 0
  const { exports } = await asyncified(wasm, { imports: ['env.bottom'] }, {
    env: { bottom: () => pending[next++]!.promise },
  })
  const first = exports.recurse(40)
  const second = exports.recurse(25)
  pending[1]!.resolve(2500)
  pending[0]!.resolve(4000)
  return Promise.all([first, second])
}

/** The payload of the first section with this id. */
function section(bytes: Uint8Array, id: number): Uint8Array {
  let offset = 8
  const u32 = () => {
    let value = 0
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[offset++]!
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return value
    }
  }
  while (offset < bytes.length) {
    const current = bytes[offset++]
    const size = u32()
    if (current === id) return bytes.subarray(offset, offset + size)
    offset += size
  }
  throw new Error(`no section ${id}`)
}

describe('the C stack pointer', () => {
  for (const level of ['-O0', '-O2']) {
    it(`is found by the shape of clang's prologues in a module stripped of names (${level})`, async () => {
      const stripped = stripNames(compileC('recurse.c', [level]))
      const { metadata, jspi, report } = await asyncifyWasm(stripped, { imports: ['env.bottom'] })
      expect(metadata!.stackPointer).not.toBeNull()
      expect(jspi!.metadata.stackPointer).not.toBeNull()
      expect(report.warnings).toEqual([])
      // Mode 'auto' (the default) makes both builds without Binaryen's pipeline.
      expect(report.engine).toBe('direct')
      expect(report.paths).toEqual(['asyncify', 'jspi'])
      await expect(overlappingRecursions(stripped)).resolves.toEqual([4000, 2500])
    })
  }

  it('is found by both engines in a module stripped of names whose only frame is in a large function, and overlapping calls keep their frames', async () => {
    // Emscripten's optimized output: the epilogue gives the frame back from the local the prologue kept, more than 24 statements apart.
    const stripped = stripNames(compileC('big-frame.c'))
    for (const built of ['direct', 'binaryen'] as const) {
      const { metadata, report } = await asyncifyWasm(stripped, { imports: ['env.pause'], mode: 'asyncify', engine: built })
      expect(report.engine).toBe(built)
      expect(metadata!.stackPointer).not.toBeNull()
      expect(report.warnings).toEqual([])
    }
    const pending = [deferred<number>(), deferred<number>(), deferred<number>(), deferred<number>()]
    let next = 0
    const { exports } = await asyncified(stripped, { imports: ['env.pause'] }, { env: { pause: () => pending[next++]!.promise } })
    // What big-frame.c's 64 slots hold, plus what the pause returned.
    const mixed = (seed: number, paused: number) => Array.from({ length: 64 }, (_, k) => seed * (k + 3) + (k ^ 5)).reduce((a, b) => a + b, paused)
    // The first call ends while the second waits; the next two then take frames where one stack shared by all
    // would put the fourth's over the second's.
    const first = exports.mix(1)
    const second = exports.mix(2)
    pending[0]!.resolve(10)
    await expect(first).resolves.toBe(mixed(1, 10))
    const third = exports.mix(3)
    const fourth = exports.mix(4)
    pending[1]!.resolve(20)
    pending[2]!.resolve(30)
    pending[3]!.resolve(40)
    await expect(Promise.all([second, third, fourth])).resolves.toEqual([mixed(2, 20), mixed(3, 30), mixed(4, 40)])
  })

  it('is found by name when the name section has it', async () => {
    const { metadata, report } = await asyncifyWasm(compileC('recurse.c'), { imports: ['env.bottom'] })
    expect(metadata!.stackPointer).not.toBeNull()
    expect(report.warnings).toEqual([])
  })

  const counter = wat(`(module
    (import "env" "tick" (func $tick (param i32) (result i32)))
    (memory (export "memory") 1)
    (global $count (mut i32) (i32.const 0))
    (func (export "next") (result i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (drop (call $tick (global.get $count)))
      (global.get $count)))`)

  it('is never guessed: a counter in global 0 of a module without names keeps counting across suspensions', async () => {
    const stripped = stripNames(counter)
    const { exports, report } = await asyncified(stripped, { imports: ['env.tick'] }, { env: { tick: (n: number) => later(n) } })
    expect([await exports.next(), await exports.next(), await exports.next()]).toEqual([1, 2, 3])
    expect(report.warnings).toContainEqual(expect.stringMatching(/no global is known to be the C stack pointer.*stackPointer option/))
  })

  it('can be named by the stackPointer option, by index or by name, or turned off with false', async () => {
    const stripped = stripNames(compileC('recurse.c'))
    const byIndex = await asyncifyWasm(stripped, { imports: ['env.bottom'], stackPointer: 0 })
    expect(byIndex.metadata!.stackPointer).not.toBeNull()
    const byName = await asyncifyWasm(compileC('recurse.c'), { imports: ['env.bottom'], stackPointer: '__stack_pointer' })
    expect(byName.metadata!.stackPointer).not.toBeNull()
    const off = await asyncifyWasm(compileC('recurse.c'), { imports: ['env.bottom'], stackPointer: false })
    expect(off.metadata!.stackPointer).toBeNull()
    expect(off.report.warnings).toEqual([])
  })

  it('reads past every kind of statement at a body\'s edges (unreachable, if, loop, call, return, select)', async () => {
    const shapes = wat(`(module
      (import "env" "tick" (func $tick (param i32) (result i32)))
      (memory (export "memory") 1)
      (global $g (mut i32) (i32.const 16))
      (func (export "trap") (unreachable))
      (func (export "branchy") (param $x i32) (result i32)
        (if (local.get $x) (then (return (i32.const 1))))
        (loop $l (br_if $l (i32.eqz (local.get $x))))
        (global.set $g (select (local.get $x) (global.get $g) (local.get $x)))
        (drop (call $tick (local.get $x)))
        (return (global.get $g))))`)
    for (const optimize of [0, 2] as const) {
      const { metadata, report } = await asyncifyWasm(stripNames(shapes), { imports: ['env.tick'], optimize })
      expect(metadata!.stackPointer).toBeNull()
      expect(report.warnings).toContainEqual(expect.stringMatching(/no global is known to be the C stack pointer/))
    }
  })

  it('starts a call where the pointer is (below what JS took with a stackAlloc-style export) and leaves it there', async () => {
    // `alloc` is Emscripten's stackAlloc; `read` keeps a 32-byte frame of its own across the suspension.
    const bytes = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory (export "memory") 2)
      (global $__stack_pointer (mut i32) (i32.const 65536))
      (func (export "alloc") (param $n i32) (result i32)
        (global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (local.get $n)))
        (global.get $__stack_pointer))
      (func (export "sp") (result i32) (global.get $__stack_pointer))
      (func (export "read") (param $p i32) (result i32) (local $r i32)
        (global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (i32.const 32)))
        (memory.fill (global.get $__stack_pointer) (i32.const 0xee) (i32.const 32))
        (local.set $r (call $get (i32.load (local.get $p))))
        (local.set $r (i32.add (local.get $r) (i32.load (local.get $p))))
        (global.set $__stack_pointer (i32.add (global.get $__stack_pointer) (i32.const 32)))
        (local.get $r)))`, ['BulkMemory', 'BulkMemoryOpt'])
    const { exports, instance } = await asyncified(bytes, { imports: ['env.get'], optimize: 0 }, {
      env: { get: (x: number) => (x < 0 ? Promise.reject(new Error('no')) : later(x * 10)) },
    })
    const view = () => new DataView((instance.exports.memory as WebAssembly.Memory).buffer)
    const p = exports.alloc(16) as number
    expect(p).toBe(65536 - 16)
    view().setInt32(p, 7, true)
    await expect(exports.read(p)).resolves.toBe(77)
    expect(exports.sp()).toBe(p)
    view().setInt32(p, -1, true)
    await expect(exports.read(p)).rejects.toThrow('no')
    expect(exports.sp()).toBe(p)
    expect(view().getInt32(p, true)).toBe(-1)
  })

  it('becomes an import in the JSPI build, at the same index, with the code and name sections the input\'s byte for byte', async () => {
    const input = compileC('recurse.c')
    const { jspi } = await asyncifyWasm(input, { imports: ['env.bottom'], mode: 'jspi' })
    expect(jspi!.metadata.stackPointerImport).toEqual({ initial: expect.any(Number) })
    const built = new WebAssembly.Module(jspi!.wasm as Uint8Array<ArrayBuffer>)
    expect(WebAssembly.Module.imports(built)).toContainEqual({ module: 'unplugin-asyncify', name: 'stack_pointer', kind: 'global' })
    expect(section(jspi!.wasm, 10)).toEqual(section(input, 10))
    const original = new WebAssembly.Module(input as Uint8Array<ArrayBuffer>)
    expect(WebAssembly.Module.customSections(built, 'name')).toEqual(WebAssembly.Module.customSections(original, 'name'))
    await expect(overlappingRecursions(input)).resolves.toEqual([4000, 2500])
  })

  it('stays defined where importing it would move an index (not the first defined global), and overlapping calls still keep their own frames', async () => {
    const bytes = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory (export "memory") 2)
      (global $count (mut i32) (i32.const 0))
      (global $__stack_pointer (mut i32) (i32.const 65536))
      (func (export "keep") (param $v i32) (result i32) (local $r i32)
        (global.set $count (i32.add (global.get $count) (i32.const 1)))
        (global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (i32.const 16)))
        (i32.store (global.get $__stack_pointer) (local.get $v))
        (drop (call $get (local.get $v)))
        (local.set $r (i32.load (global.get $__stack_pointer)))
        (global.set $__stack_pointer (i32.add (global.get $__stack_pointer) (i32.const 16)))
        (local.get $r)))`)
    const { jspi } = await asyncifyWasm(bytes, { imports: ['env.get'], mode: 'jspi' })
    expect(jspi!.metadata.stackPointerImport).toBeNull()
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()]
    const { exports } = await asyncified(bytes, { imports: ['env.get'], optimize: 0 }, { env: { get: (v: number) => gates[v]!.promise } })
    const calls = [exports.keep(0), exports.keep(1), exports.keep(2)]
    for (const i of [2, 0, 1]) gates[i]!.resolve(0)
    await expect(Promise.all(calls)).resolves.toEqual([0, 1, 2])
  })

  it('refuses a stackPointer option that names no mutable i32 global', async () => {
    for (const stackPointer of ['nope', 99, -1, '']) {
      const error = await asyncifyWasm(counter, { imports: ['env.tick'], stackPointer, filename: 'c.wasm' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AsyncifyError)
      expect((error as AsyncifyError).code).toBe('ASYNCIFY_BAD_OPTIONS')
      expect((error as Error).message).toMatch(/^c\.wasm: stackPointer/)
    }
  })
})
