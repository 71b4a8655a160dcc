/**
 * The status table of protocol v1, mirroring `docs/protocol.md` (and the
 * seed's status page) one row per status.
 */
export const Status = {
  Ok: 1,
  OpCodeInvalid: 2,
  JsonInvalid: 3,
  CommandNotExist: 10,
  CommandMultiple: 11,
  CommandType: 12,
  KeySet: 20,
  KeyUpdated: 21,
  KeyNotExist: 22,
  KeyExists: 23,
  KeyRemoved: 24,
  KeyTypeInvalid: 26,
  ValueTypeInvalid: 41,
  Unknown: 100,
} as const;

export type Status = (typeof Status)[keyof typeof Status];
