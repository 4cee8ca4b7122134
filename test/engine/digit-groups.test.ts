import { describe, expect, it } from 'vitest'
import { digitGroups } from '../../src/transform/digit-groups.js'

describe('digitGroups', () => {
  it('writes a whole number as toLocaleString("en") does', () => {
    for (const value of [0, 7, 999, 1000, 12_345, 999_999, 1_000_000, 1_524_460, 2 ** 31, -1, -1234, -1_000_000]) {
      expect(digitGroups(value)).toBe(value.toLocaleString('en'))
    }
  })
})
