/** KV_APPEND cases shared by the store suite and the protocol suite: same rules, every store. */

/** [label, stored, appended, combined]: each answers status 1. */
export const APPEND_COMBINED: readonly [string, string, string, string][] = [
  ["array + array", "[1,2]", '[3,"x",[4]]', '[1,2,3,"x",[4]]'],
  ["empty array + array", "[]", "[18446744073709551617]", "[18446744073709551617]"],
  ["array + empty array", "[0.1,1e21]", "[]", "[0.1,1e21]"],
  ["empty array + empty array", "[]", "[]", "[]"],
  ["nested empty containers", "[[]]", "[{},[]]", "[[],{},[]]"],
  ["object + object", '{"10":1,"a":2}', '{"2":3,"a":9}', '{"10":1,"a":2,"2":3}'],
  ["object with an escaped existing name", '{"a":1}', '{"\\u0061":2,"b":[]}', '{"a":1,"b":[]}'],
  ["empty object + object", "{}", '{"x":{}}', '{"x":{}}'],
  ["object + empty object", '{"x":[]}', "{}", '{"x":[]}'],
  ["string + string", '"ab"', '"c\\"d"', '"abc\\"d"'],
  ["string + escaped string", '"a\\\\"', '"\\u00e9\\n"', '"a\\\\\\u00e9\\n"'],
  ["string + empty string", '"ab"', '""', '"ab"'],
  ["empty string + empty string", '""', '""', '""'],
];

/** [stored, appended]: any other pair answers 41 and leaves the value untouched. */
export const APPEND_MISMATCHED: readonly [string, string][] = [
  ["1", "2"],
  ["true", "false"],
  ["null", "null"],
  ["[1]", '{"a":1}'],
  ['{"a":1}', "[1]"],
  ['"s"', "[1]"],
  ["[1]", '"s"'],
  ["[1]", "1"],
  ['"s"', "1"],
  ["1.5", '"s"'],
  ["[]", "null"],
];
