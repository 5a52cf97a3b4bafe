import { textPatterns } from './text-patterns';

/**
 * Chinese for graphql-js 16's own parse, validation and variable-coercion messages, keyed by their English
 * formats (node_modules/graphql: language/lexer.js and parser.js, validation/rules/*.js, execution/values.js,
 * utilities/coerceInputValue.js, type/scalars.js), and of the DateTimeISO scalar (graphql-scalars). `{name}` matches any text and is carried over as it is (names,
 * types, values); `{inner}` is itself a graphql-js message and is translated in turn, `{reason}` an overlapping-fields
 * reason (conflictReason below). A message that does not
 * match whole, inner parts included, stays English. The rules a caller meets when writing a query are here;
 * schema-definition rules (SDL) are not, as ShiftDesk's schema is built in code.
 */
const GRAPHQL_MESSAGES: ReadonlyArray<readonly [en: string, zh: string]> = [
  // parser and lexer
  ['Syntax Error: {inner}', '语法错误：{inner}'],
  ['Expected {expected}, found {found}.', '此处应为 {expected}，实际为 {found}。'],
  ['Unexpected {token}.', '意外的 {token}。'],
  ['Unterminated string.', '字符串未结束。'],
  ['Invalid character: {char}.', '无效字符：{char}。'],
  ['Unexpected character: {char}.', '意外的字符：{char}。'],
  ['Invalid number, {detail}', '无效的数字：{detail}'],
  ['Document contains more that {max} tokens. Parsing aborted.', '文档的词法单元超过 {max} 个，已停止解析。'],
  // validation of the document
  ['Cannot query field "{field}" on type "{type}".', '类型 "{type}" 上没有可查询的字段 "{field}"。'],
  ['Unknown argument "{argument}" on field "{field}".', '字段 "{field}" 没有参数 "{argument}"。'],
  ['Unknown argument "{argument}" on directive "@{directive}".', '指令 "@{directive}" 没有参数 "{argument}"。'],
  [
    'Field "{field}" argument "{argument}" of type "{type}" is required, but it was not provided.',
    '字段 "{field}" 的参数 "{argument}"（类型 "{type}"）为必填项，但未提供。',
  ],
  [
    'Directive "@{directive}" argument "{argument}" of type "{type}" is required, but it was not provided.',
    '指令 "@{directive}" 的参数 "{argument}"（类型 "{type}"）为必填项，但未提供。',
  ],
  [
    'Field "{field}" must not have a selection since type "{type}" has no subfields.',
    '字段 "{field}" 的类型 "{type}" 没有子字段，不能带选择集。',
  ],
  [
    'Field "{field}" of type "{type}" must have a selection of subfields. Did you mean "{hint}"?',
    '字段 "{field}"（类型 "{type}"）必须选择子字段。是否应为 "{hint}"？',
  ],
  ['Field "{field}" of type "{type}" must have at least one field selected.', '字段 "{field}"（类型 "{type}"）至少要选择一个字段。'],
  ['Unknown type "{type}".', '未知类型 "{type}"。'],
  ['Unknown directive "@{directive}".', '未知指令 "@{directive}"。'],
  ['Directive "@{directive}" may not be used on {location}.', '指令 "@{directive}" 不能用于 {location}。'],
  ['The directive "@{directive}" can only be used once at this location.', '指令 "@{directive}" 在此位置只能使用一次。'],
  ['Unknown fragment "{fragment}".', '未知片段 "{fragment}"。'],
  ['Fragment "{fragment}" is never used.', '片段 "{fragment}" 未被使用。'],
  ['Cannot spread fragment "{fragment}" within itself.', '片段 "{fragment}" 不能展开自身。'],
  ['Cannot spread fragment "{fragment}" within itself via {path}.', '片段 "{fragment}" 不能经由 {path} 展开自身。'],
  [
    'Fragment "{fragment}" cannot be spread here as objects of type "{parent}" can never be of type "{type}".',
    '片段 "{fragment}" 不能在此展开：类型为 "{parent}" 的对象永远不会是 "{type}" 类型。',
  ],
  [
    'Fragment cannot be spread here as objects of type "{parent}" can never be of type "{type}".',
    '片段不能在此展开：类型为 "{parent}" 的对象永远不会是 "{type}" 类型。',
  ],
  ['Fragment "{fragment}" cannot condition on non composite type "{type}".', '片段 "{fragment}" 不能以非复合类型 "{type}" 为条件。'],
  ['Fragment cannot condition on non composite type "{type}".', '片段不能以非复合类型 "{type}" 为条件。'],
  ['The {definition} definition is not executable.', '{definition} 定义不可执行。'],
  ['This anonymous operation must be the only defined operation.', '匿名操作必须是文档中唯一的操作。'],
  ['There can be only one operation named "{name}".', '只能有一个名为 "{name}" 的操作。'],
  ['There can be only one fragment named "{name}".', '只能有一个名为 "{name}" 的片段。'],
  ['There can be only one argument named "{name}".', '只能有一个名为 "{name}" 的参数。'],
  ['There can be only one input field named "{name}".', '只能有一个名为 "{name}" 的输入字段。'],
  ['There can be only one variable named "${name}".', '只能有一个名为 "${name}" 的变量。'],
  ['Variable "${name}" is not defined by operation "{operation}".', '变量 "${name}" 未在操作 "{operation}" 中定义。'],
  ['Variable "${name}" is not defined.', '变量 "${name}" 未定义。'],
  ['Variable "${name}" is never used in operation "{operation}".', '变量 "${name}" 在操作 "{operation}" 中未被使用。'],
  ['Variable "${name}" is never used.', '变量 "${name}" 未被使用。'],
  ['Variable "${name}" cannot be non-input type "{type}".', '变量 "${name}" 不能是非输入类型 "{type}"。'],
  [
    'Variable "${name}" of type "{type}" used in position expecting type "{expected}".',
    '变量 "${name}" 的类型为 "{type}"，但此处需要 "{expected}" 类型。',
  ],
  [
    'Fields "{field}" conflict because {reason}. Use different aliases on the fields to fetch both if this was intentional.',
    '字段 "{field}" 相互冲突：{reason}。如确需同时获取，请为这些字段使用不同的别名。',
  ],
  ['Validation aborted.', '验证已中止。'],
  ['Anonymous Subscription must select only one top level field.', '匿名订阅只能选择一个顶层字段。'],
  ['Subscription "{name}" must select only one top level field.', '订阅 "{name}" 只能选择一个顶层字段。'],
  ['Expected value of type "{type}", found {value}; {inner}', '应为 "{type}" 类型的值，实际为 {value}：{inner}'],
  ['Expected value of type "{type}", found {value}.', '应为 "{type}" 类型的值，实际为 {value}。'],
  // variables (execution/values.js) and the input coercion inside them
  ['Variable "${name}" of required type "{type}" was not provided.', '必填变量 "${name}"（类型 "{type}"）未提供。'],
  ['Variable "${name}" of non-null type "{type}" must not be null.', '变量 "${name}"（非空类型 "{type}"）不能为 null。'],
  ['Variable "${name}" got invalid value {value} at "{path}"; {inner}', '变量 "${name}" 在 "{path}" 处的值 {value} 无效：{inner}'],
  ['Variable "${name}" got invalid value {value}; {inner}', '变量 "${name}" 的值 {value} 无效：{inner}'],
  ['Expected non-nullable type "{type}" not to be null.', '非空类型 "{type}" 的值不能为 null。'],
  ['Expected type "{type}" to be an object.', '类型 "{type}" 的值应为对象。'],
  ['Expected type "{type}". {inner}', '应为 "{type}" 类型。{inner}'],
  ['Expected type "{type}".', '应为 "{type}" 类型。'],
  ['Field "{field}" of required type "{type}" was not provided.', '必填字段 "{field}"（类型 "{type}"）未提供。'],
  ['Field "{field}" is not defined by type "{type}".', '类型 "{type}" 没有定义字段 "{field}"。'],
  ['Field "{field}" must be non-null.', '字段 "{field}" 不能为 null。'],
  ['Value "{value}" does not exist in "{type}" enum.', '枚举 "{type}" 中不存在值 "{value}"。'],
  ['Enum "{type}" cannot represent non-enum value: {value}.', '枚举 "{type}" 不能表示非枚举值：{value}。'],
  ['Enum "{type}" cannot represent non-string value: {value}.', '枚举 "{type}" 不能表示非字符串值：{value}。'],
  // built-in scalars
  ['String cannot represent a non string value: {value}', 'String 不能表示非字符串值：{value}'],
  ['Int cannot represent non-integer value: {value}', 'Int 不能表示非整数值：{value}'],
  ['Int cannot represent non 32-bit signed integer value: {value}', 'Int 不能表示超出 32 位有符号整数范围的值：{value}'],
  ['Float cannot represent non numeric value: {value}', 'Float 不能表示非数值：{value}'],
  ['Boolean cannot represent a non boolean value: {value}', 'Boolean 不能表示非布尔值：{value}'],
  ['ID cannot represent value: {value}', 'ID 不能表示该值：{value}'],
  ['ID cannot represent a non-string and non-integer value: {value}', 'ID 不能表示非字符串且非整数的值：{value}'],
  // DateTimeISO (graphql-scalars, through type-graphql)
  ['DateTime cannot represent an invalid date-time-string {value}.', 'DateTime 不能表示无效的日期时间字符串 {value}。'],
  ['DateTime cannot represent non string or Date type {value}', 'DateTime 不能表示非字符串且非 Date 类型的值 {value}'],
  ['DateTime cannot represent an invalid Date instance', 'DateTime 不能表示无效的 Date 实例'],
];

/** Each format as a pattern, the most specific first: `Expected type "X". {inner}` before `Expected type "X".`. */
const PATTERNS = textPatterns(GRAPHQL_MESSAGES);

/** The Chinese of a graphql-js message, or null when it (or a message inside it) has no entry here. */
export function chineseGraphqlMessage(message: string): string | null {
  for (const { regex, names, zh } of PATTERNS) {
    const match = regex.exec(message);
    if (!match) continue;
    const values = new Map(names.map((name, i) => [name, match[i + 1]]));
    const inner = values.get('inner');
    if (inner !== undefined) {
      const translated = chineseGraphqlMessage(inner);
      if (translated === null) continue;
      values.set('inner', translated);
    }
    const reason = values.get('reason');
    if (reason !== undefined) {
      const translated = chineseConflictReason(reason);
      if (translated === null) continue;
      values.set('reason', translated);
    }
    return zh.replace(/\{(\w+)\}/g, (whole, name: string) => values.get(name) ?? whole);
  }
  return null;
}

const NAME = '[_A-Za-z][_0-9A-Za-z]*';
const TYPE = '[_0-9A-Za-z[\\]!]+';
/** The parts OverlappingFieldsCanBeMergedRule composes a reason of (nested: `subfields "x" conflict because …`). */
const REASON_PARTS: ReadonlyArray<readonly [RegExp, string]> = [
  [new RegExp(`"(${NAME})" and "(${NAME})" are different fields`, 'g'), '"$1" 和 "$2" 是不同的字段'],
  [new RegExp(`they return conflicting types "(${TYPE})" and "(${TYPE})"`, 'g'), '它们返回的类型 "$1" 与 "$2" 相冲突'],
  [/they have differing arguments/g, '它们的参数不同'],
  [new RegExp(`subfields "(${NAME})" conflict because `, 'g'), '子字段 "$1" 相互冲突：'],
  [/ and 子字段 /g, '；子字段 '],
];

/**
 * An overlapping-fields reason in Chinese, part by part (the parts read the same whatever their nesting), or null
 * when English words are left over (a part not known here, or a reason graphql-js cut short with `...`).
 */
function chineseConflictReason(reason: string): string | null {
  const chinese = REASON_PARTS.reduce((text, [part, zh]) => text.replace(part, zh), reason);
  return /[A-Za-z]{2,}/.test(chinese.replace(/"[^"]*"/g, '')) ? null : chinese;
}

/** The formats and their Chinese, for the test that checks them. */
export const graphqlMessageTable = () => GRAPHQL_MESSAGES;
