/*
 * What the instrumentation needs to know of each value type: its encoding,
 * its size in an unwound frame, and how it is loaded and stored there (-1:
 * it cannot be: references have no place in memory).
 */
import type { ValType } from './body.js'

export const VALUE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b, funcref: 0x70, externref: 0x6f }
export const LOAD: Record<ValType, number> = { i32: 0x28, i64: 0x29, f32: 0x2a, f64: 0x2b, v128: -1, funcref: -1, externref: -1 }
export const STORE: Record<ValType, number> = { i32: 0x36, i64: 0x37, f32: 0x38, f64: 0x39, v128: -1, funcref: -1, externref: -1 }
export const SIZE: Record<ValType, number> = { i32: 4, i64: 8, f32: 4, f64: 8, v128: 16, funcref: 0, externref: 0 }
