/* The few pieces of the wasm binary encoding that are written: by the transform (sections) and the JSPI trampolines. */

export function leb(value: number): number[] {
  const out: number[] = []
  do {
    let byte = value & 0x7f
    value = Math.floor(value / 128)
    if (value !== 0) byte |= 0x80
    out.push(byte)
  } while (value !== 0)
  return out
}

/** An `i32.const` immediate: a signed LEB, whose last byte's bit 6 is the sign. */
export function sleb(value: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = value & 0x7f
    value = Math.floor(value / 128)
    if ((value === 0 && !(byte & 0x40)) || (value === -1 && byte & 0x40)) return [...out, byte]
    out.push(byte | 0x80)
  }
}

/** Bytes from base64, without Node's Buffer (this code runs in browsers too). */
export function fromBase64(base64: string): Uint8Array {
  const text = atob(base64)
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i)
  return bytes
}

export function encodeName(text: string): Uint8Array {
  const utf8 = new TextEncoder().encode(text)
  return concatBytes(leb(utf8.length), utf8)
}

export function concatBytes(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** A vector: its length, then its items. */
export function vector(items: (Uint8Array | number[])[]): Uint8Array {
  return concatBytes(leb(items.length), ...items)
}

export function section(id: number, payload: Uint8Array): Uint8Array {
  return concatBytes([id], leb(payload.length), payload)
}

/** A code section entry: its size, then `locals` (one declaration each), `code` and the closing `end`. */
export function functionBody(locals: number[][], code: number[]): Uint8Array {
  const content = concatBytes(vector(locals.map((encoding) => [1, ...encoding])), code, [0x0b])
  return concatBytes(leb(content.length), content)
}
