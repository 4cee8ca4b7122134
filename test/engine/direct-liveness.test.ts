/*
 * liveness.ts on small bodies whose answer can be read off the text: which
 * locals some path from the start reads before any write. The direct
 * engine saves exactly these at an unwind, so a local wrongly left out is
 * a value lost across a suspension, and one wrongly put in is only space.
 *
 * The bodies are WAT assembled by Binaryen, which keeps parameters first and
 * groups declared locals by type: every local here is an i32, so the indices
 * are those of the text.
 */
import { describe, expect, it } from 'vitest'
import type { Node } from '../../src/transform/direct/body.js'
import { moduleTypesOf } from '../../src/transform/direct/module-types.js'
import { decodeBody } from '../../src/transform/direct/decode.js'
import { liveAtStart, type RewindMarks } from '../../src/transform/direct/liveness.js'
import { codeBodies } from '../../src/transform/direct/stack-shape.js'
import { scanModule } from '../../src/transform/scan.js'
import { wat } from '../helpers/wat.js'

/**
 * The locals live at the start of `func`'s body, its own label leading out
 * of the function. With `dispatchers` (how many the body has), the ifs and
 * br_ifs on the state are the instrumenter's dispatchers, and every call is
 * one a rewind re-enters.
 */
function liveIn(func: string, dispatchers?: number): number[] {
  const bytes = wat(`(module (import "env" "g" (func $g (param i32) (result i32))) (global $state (mut i32) (i32.const 0))
    (memory 1) (func (export "f") ${func}))`)
  const module = moduleTypesOf(scanModule(bytes, { code: false }), bytes)
  const [body] = codeBodies(bytes)
  const { params } = module.functions[1]!
  const decoded = decodeBody(body!, params, module)
  const marks: RewindMarks = { rewinding: new Set(), calls: new Set(), ignored: new Set(), entryTests: new Set() }
  if (dispatchers !== undefined) {
    const found = decoded.body.flatMap(dispatchersIn)
    expect(found).toHaveLength(dispatchers)
    for (const node of found) marks.rewinding.add(node)
    for (const call of decoded.body.flatMap(callsIn)) marks.calls.add(call)
  }
  return [...liveAtStart(decoded.body, 1, params.length + decoded.locals.length, marks)].sort((a, b) => a - b)
}

/** The ifs and br_ifs on the state (global 0): a frame's dispatcher. */
function dispatchersIn(node: Node, k: number, nodes: Node[]): Node[] {
  const previous = nodes[k - 1]
  const onState = previous?.kind === 'op' && previous.bytes[0] === 0x23 && previous.bytes[1] === 0
  if ((node.kind === 'if' || node.kind === 'br_if') && onState) return [node]
  if (node.kind === 'block' || node.kind === 'loop') return node.body.flatMap(dispatchersIn)
  return []
}

function callsIn(node: Node): Node[] {
  if (node.kind === 'call') return [node]
  if (node.kind === 'block' || node.kind === 'loop') return node.body.flatMap(callsIn)
  if (node.kind === 'if') return [...node.then, ...(node.else ?? [])].flatMap(callsIn)
  return []
}

describe('liveAtStart', () => {
  it('a parameter the body reads is live, and one it never reads is not', () => {
    expect(liveIn(`(param $x i32) (param $y i32) (result i32) (i32.add (local.get $y) (i32.const 1))`)).toEqual([1])
  })

  it('a local written before any read is not live', () => {
    const body = `(param $x i32) (result i32) (local $a i32)
      (local.set $a (i32.mul (local.get $x) (i32.const 2)))
      (i32.add (local.get $a) (local.get $a))`
    expect(liveIn(body)).toEqual([0])
  })

  it('local.tee writes a local as local.set does', () => {
    const body = `(result i32) (local $a i32)
      (drop (local.tee $a (i32.const 3)))
      (local.get $a)`
    expect(liveIn(body)).toEqual([])
  })

  it('a local read before it is written, even if written later, is live', () => {
    const body = `(result i32) (local $a i32)
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (local.get $a)`
    expect(liveIn(body)).toEqual([0])
  })

  it('a local read in one arm of an if only is live', () => {
    const body = `(param $x i32) (result i32) (local $a i32)
      (if (result i32) (local.get $x)
        (then (local.get $a))
        (else (i32.const 0)))`
    expect(liveIn(body)).toEqual([0, 1])
  })

  it('a local written in one arm of an if only and read after it is live', () => {
    const body = `(param $x i32) (result i32) (local $a i32)
      (if (local.get $x) (then (local.set $a (i32.const 5))))
      (local.get $a)`
    expect(liveIn(body)).toEqual([0, 1])
  })

  it('a local written in both arms of an if before the read after it is not live', () => {
    const body = `(param $x i32) (result i32) (local $a i32)
      (if (local.get $x)
        (then (local.set $a (i32.const 5)))
        (else (local.set $a (i32.const 6))))
      (local.get $a)`
    expect(liveIn(body)).toEqual([0])
  })

  it('a local read at the top of a loop and written further down it (loop-carried) is live', () => {
    const body = `(param $n i32) (result i32) (local $i i32) (local $prev i32) (local $sum i32)
      (loop $l
        (local.set $sum (i32.add (local.get $sum) (local.get $prev)))
        (local.set $prev (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $sum)`
    // $i, $prev and $sum are all read on the first iteration before the loop writes them.
    expect(liveIn(body)).toEqual([0, 1, 2, 3])
  })

  it('a local the loop writes before every read of it, and read after the loop, is not live', () => {
    const body = `(param $n i32) (result i32) (local $t i32) (local $i i32)
      (loop $l
        (local.set $t (i32.mul (local.get $i) (i32.const 3)))
        (local.set $i (i32.add (local.get $i) (local.get $t)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $t)`
    expect(liveIn(body)).toEqual([0, 2])
  })

  it('a br_if out of a block that skips the write makes the local read after the block live', () => {
    const body = `(param $x i32) (result i32) (local $a i32)
      (block $skip
        (br_if $skip (local.get $x))
        (local.set $a (i32.const 1)))
      (local.get $a)`
    expect(liveIn(body)).toEqual([0, 1])
  })

  it('a br_table target that skips the write makes the local live, and one that does not skip it leaves it dead', () => {
    const skipping = `(param $k i32) (result i32) (local $a i32)
      (block $out
        (block $write
          (br_table $write $out (local.get $k)))
        (local.set $a (i32.const 1)))
      (local.get $a)`
    expect(liveIn(skipping)).toEqual([0, 1])
    const writing = `(param $k i32) (result i32) (local $a i32)
      (block $out
        (block $write
          (br_table $write $write (local.get $k)))
        (local.set $a (i32.const 1)))
      (local.get $a)`
    expect(liveIn(writing)).toEqual([0])
  })

  it('return kills liveness: a read after it on no path that returned does not count', () => {
    const body = `(param $x i32) (result i32) (local $a i32)
      (if (local.get $x)
        (then (return (i32.const 0)))
        (else (local.set $a (i32.const 2))))
      (local.get $a)`
    expect(liveIn(body)).toEqual([0])
  })

  it('unreachable kills liveness as return does', () => {
    const body = `(param $x i32) (result i32) (local $a i32)
      (if (local.get $x)
        (then (unreachable))
        (else (local.set $a (i32.const 2))))
      (local.get $a)`
    expect(liveIn(body)).toEqual([0])
  })

  it('a branch to the function\'s own label leaves the function: what follows it is not read on that path', () => {
    const body = `(param $x i32) (local $a i32)
      (br_if 0 (local.get $x))
      (local.set $a (i32.const 1))
      (i32.store (i32.const 0) (local.get $a))`
    expect(liveIn(body)).toEqual([0])
  })

  it('locals of every type are tracked, past the first 32 locals', () => {
    // One local beyond the first word of the bit set, of another type (declared after the i32s: index 40).
    const declarations = Array.from({ length: 39 }, (_, k) => `(local $l${k} i32)`).join(' ')
    const body = `(param $x i32) (result i64) ${declarations} (local $wide i64)
      (drop (local.get $l38))
      (i64.add (local.get $wide) (i64.extend_i32_u (local.get $x)))`
    expect(liveIn(body)).toEqual([0, 39, 40])
  })
})

describe('liveAtStart on the paths a rewind takes (the dispatchers marked)', () => {
  // The shape of the instrumenter's output: a frame's items each after a block a rewind branches to the end of,
  // from a dispatcher first in the innermost block (an if on the state, or a br_if for a frame with one item).
  // Rewinding, the dispatcher always branches and the segments are skipped; going forward it never does.
  const twoSites = `(param $p i32) (result i32) (local $idx i32) (local $t i32) (local $q i32)
    (block $b1
      (block $b0
        (if (global.get $state) (then (br_table 1 2 (local.get $idx))))
        (local.set $t (i32.mul (local.get $q) (i32.const 2))))
      (drop (call $g (local.get $t)))
      (local.set $t (i32.add (local.get $p) (i32.const 1))))
    (drop (call $g (local.get $t)))
    (local.get $p)`

  it('what a skipped segment reads is not live, what it sets and a site reads is, and so is what code after a site reads', () => {
    expect(liveIn(twoSites, 1)).toEqual([0, 1, 2])
    // Unmarked, the dispatcher is an if that may be skipped, and the first segment reads $q.
    expect(liveIn(twoSites)).toEqual([0, 1, 2, 3])
  })

  it('a frame with one item: its segment is skipped by a br_if taken only rewinding, and what follows the call is live through it', () => {
    const one = `(param $p i32) (result i32) (local $idx i32) (local $q i32)
      (block $b0
        (br_if $b0 (global.get $state))
        (local.set $q (i32.mul (local.get $p) (i32.const 3))))
      (drop (call $g (i32.const 0)))
      (local.get $q)`
    expect(liveIn(one, 1)).toEqual([2])
    expect(liveIn(one)).toEqual([0, 2])
  })

  it('what only a path that leaves the function before any site reads is not live: no rewind takes it', () => {
    // The condition decides whether the site is reached, so it is live; the early exit's $q and the arm after the
    // condition that returns at once ($r) are read only on paths that reach no call.
    const exits = `(param $p i32) (result i32) (local $q i32) (local $r i32) (local $s i32)
      (if (i32.eqz (local.get $p)) (then (return (local.get $q))))
      (if (i32.gt_s (local.get $p) (i32.const 9)) (then (return (i32.add (local.get $r) (i32.const 1)))))
      (drop (call $g (i32.const 0)))
      (local.get $s)`
    expect(liveIn(exits, 0)).toEqual([0, 3])
    // Unmarked, every path counts.
    expect(liveIn(exits)).toEqual([0, 1, 2, 3])
  })

  it('a read on a path that still reaches a site, even past an exit it may take, is live', () => {
    const loop = `(param $p i32) (result i32) (local $q i32) (local $r i32)
      (loop $again
        (br_if $again (i32.eqz (call $g (local.get $q))))
        (if (local.get $r) (then (return (i32.const 0))))
        (local.set $q (i32.add (local.get $q) (local.get $p)))
        (br $again))
      (unreachable)`
    // $q feeds only the call's argument, which a rewind ignores only where the instrumenter marks it; $r decides
    // whether the loop goes round to the call again, and $p is read on the way back to it.
    expect(liveIn(loop, 0)).toEqual([0, 1, 2])
  })
})
