/*
 * Memory for the driver's own state (the Asyncify region and the C stacks of
 * overlapping calls) that the program will never hand out as heap.
 *
 * Allocators cannot be trusted to leave alone pages they did not grow: old
 * dlmalloc (Debian's wasi-libc) claims everything from `__heap_base` to
 * `memory.size` at its first `malloc`, and so do Emscripten's sbrk and bump
 * allocators. So, in order of preference:
 *   1. the program's own `malloc` (the transform exports it when the module
 *      has one), called when the memory is first needed, with the program in
 *      a normal state (never while unwinding or rewinding);
 *   2. otherwise, pages grown at instantiation, before any export has run,
 *      for the Asyncify region and one overlap stack; a module with no
 *      allocator has nobody to claim them. Further overlap stacks are grown
 *      when needed.
 * `stackRegion` places the Asyncify region where the caller says.
 */
import { AsyncifyError } from './errors.js'

const PAGE = 65536
/** clang keeps the C stack 16-byte aligned. */
const STACK_ALIGN = 16

export interface Block {
  start: number
  end: number
  /**
   * End of the bytes after `end` that belong to this block alone (the slack
   * of its pages); an overflow that stays below it damaged nothing else.
   */
  top: number
}

export type Malloc = (bytes: number) => number

export class OwnedMemory {
  private reserved: { region: Block | null; stack: number | null } | null = null
  private reserveError: AsyncifyError | null = null

  constructor(
    private readonly label: string,
    private readonly memory: WebAssembly.Memory | null,
    private readonly malloc: Malloc | null,
  ) {}

  /** Without an allocator, takes the pages now, before the program can run. */
  reserveAtInstantiation(regionBytes: number, stackBytes: number): void {
    if (this.malloc || !this.memory || regionBytes + stackBytes === 0) return
    const stackPart = stackBytes === 0 ? 0 : alignUp(stackBytes, STACK_ALIGN)
    try {
      const purpose = [regionBytes > 0 && 'the Asyncify stack', stackPart > 0 && 'a C stack for overlapping calls']
        .filter(Boolean)
        .join(' and ')
      const block = this.grow(stackPart + regionBytes, purpose)
      // The region goes last, so that its overflow runs into its own slack.
      const regionStart = block.start + stackPart
      this.reserved = {
        region: regionBytes === 0 ? null : { start: regionStart, end: regionStart + regionBytes, top: block.end },
        stack: stackPart === 0 ? null : block.start + stackPart,
      }
    } catch (error) {
      // Reported when the memory is first needed: a module that never
      // suspends must still instantiate.
      this.reserveError = error as AsyncifyError
    }
  }

  /** Bytes for the Asyncify region. */
  region(bytes: number, purpose: string): Block {
    if (this.reserved?.region) {
      const region = this.reserved.region
      this.reserved.region = null
      return region
    }
    const start = this.allocate(bytes, 4, purpose)
    return { start, end: start + bytes, top: start + bytes }
  }

  /** A C stack of `bytes`; returns its top (stacks grow down). */
  stack(bytes: number, purpose: string): number {
    if (this.reserved?.stack) {
      const top = this.reserved.stack
      this.reserved.stack = null
      return top
    }
    const start = this.allocate(bytes, STACK_ALIGN, purpose)
    return alignDown(start + bytes, STACK_ALIGN)
  }

  /** `bytes` aligned to `align`, for `purpose` (named in errors). */
  allocate(bytes: number, align: number, purpose: string): number {
    if (this.reserveError) throw this.reserveError
    if (!this.malloc) return alignUp(this.grow(bytes, purpose).start, align)
    const pointer = this.malloc(bytes + align) >>> 0
    if (pointer === 0) {
      throw new AsyncifyError(
        'ASYNCIFY_MEMORY_EXHAUSTED',
        `${this.label}: the program's malloc could not provide ${bytes} bytes for ${purpose}; ` +
          `link with a larger maximum memory (clang: -Wl,--max-memory=N) or lower stackSize or shadowStackSize`,
      )
    }
    return alignUp(pointer, align)
  }

  private grow(bytes: number, purpose: string): { start: number; end: number } {
    if (this.memory === null) {
      throw new AsyncifyError(
        'ASYNCIFY_NO_MEMORY',
        `${this.label}: the module has no linear memory, so a suspended call has nowhere to be kept; ` +
          `give it a memory (clang and Rust always do) and transform it again`,
      )
    }
    const pages = Math.ceil(bytes / PAGE)
    let previous: number
    try {
      previous = this.memory.grow(pages)
    } catch (cause) {
      throw new AsyncifyError(
        'ASYNCIFY_MEMORY_EXHAUSTED',
        `${this.label}: could not grow memory by ${pages} page(s) for ${purpose}: ` +
          `memory is at its maximum of ${this.memory.buffer.byteLength / PAGE} pages; ` +
          `link with a larger maximum (clang: -Wl,--max-memory=N), lower stackSize or shadowStackSize` +
          (purpose.startsWith('the Asyncify stack')
            ? `, or pass instantiate(..., { stackRegion: { start, size } }) with memory the program never uses`
            : `, or export the program's malloc so the runtime can take its C stacks from the heap`),
        { cause },
      )
    }
    return { start: previous * PAGE, end: (previous + pages) * PAGE }
  }
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align
}

function alignDown(value: number, align: number): number {
  return Math.floor(value / align) * align
}
