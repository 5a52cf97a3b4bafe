import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** One human-readable error text written in src/: a literal, or a template whose `${…}` parts are `{}`. */
export interface ErrorText {
  where: string;
  /** The English text; each `${…}` of a template is `{}`. */
  text: string;
}

/** Error classes and the index of their message argument (NotFound's arguments are a type name and an id). */
const MESSAGE_ARGUMENT: Record<string, number> = {
  Forbidden: 0,
  Unauthenticated: 0,
  ServiceUnavailable: 0,
  Conflict: 1,
  InvalidInput: 1,
  RateLimited: 1,
  DomainError: 1,
  GraphQLError: 0,
};

/** Helpers that pass a message on to an error (the argument that is the message). */
const MESSAGE_HELPERS: Record<string, number> = { consumeOrThrow: 2, refused: 0, add: 2 };

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** A file's `const`s by name, to follow a message given as a variable (`new Forbidden(message)`). */
type Constants = Map<string, ts.Expression[]>;

/**
 * The texts an expression can evaluate to: literals, templates, both branches of `?:`, `??`, `||`, and the
 * value of a constant of the same file.
 */
function textsOf(node: ts.Expression | undefined, constants: Constants = new Map(), seen = new Set<string>()): string[] {
  if (!node) return [];
  if (ts.isIdentifier(node) && !seen.has(node.text)) {
    seen.add(node.text);
    return (constants.get(node.text) ?? []).flatMap((value) => textsOf(value, constants, seen));
  }
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isTemplateExpression(node)) return [node.head.text + node.templateSpans.map((s) => `{}${s.literal.text}`).join('')];
  if (ts.isParenthesizedExpression(node)) return textsOf(node.expression, constants, seen);
  if (ts.isConditionalExpression(node)) return [...textsOf(node.whenTrue, constants, seen), ...textsOf(node.whenFalse, constants, seen)];
  if (ts.isBinaryExpression(node) && [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken].includes(node.operatorToken.kind)) {
    return [...textsOf(node.left, constants, seen), ...textsOf(node.right, constants, seen)];
  }
  return [];
}

const nameOf = (node: ts.Node): string | undefined =>
  ts.isIdentifier(node) ? node.text : ts.isPropertyAccessExpression(node) ? node.name.text : undefined;

/**
 * Every error text in src/: the message arguments of the error classes and of the helpers that build them,
 * `message:` properties (field problems, class-validator options, conflicts), constants named `…_MESSAGE(S)`
 * and what `…Problem()` functions return.
 */
export function scanErrorTexts(root: string): ErrorText[] {
  const out: ErrorText[] = [];
  for (const file of filesUnder(join(root, 'src'))) {
    const path = relative(root, file);
    if (path.startsWith('src/platform/i18n/')) continue;
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const constants: Constants = new Map();
    const collect = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
        constants.set(node.name.text, [...(constants.get(node.name.text) ?? []), node.initializer]);
      }
      ts.forEachChild(node, collect);
    };
    collect(source);
    const add = (node: ts.Node, texts: string[]) => {
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      for (const text of texts) out.push({ where: `${path}:${line}`, text });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node)) {
        const index = MESSAGE_ARGUMENT[nameOf(node.expression) ?? ''];
        if (index !== undefined) add(node, textsOf(node.arguments?.[index], constants));
      } else if (ts.isCallExpression(node)) {
        const index = MESSAGE_HELPERS[nameOf(node.expression) ?? ''];
        if (index !== undefined) add(node, textsOf(node.arguments[index], constants));
      } else if (ts.isPropertyAssignment(node) && nameOf(node.name) === 'message') {
        add(node, textsOf(node.initializer, constants));
      } else if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && /_MESSAGES?$/.test(node.name.text)) {
        const init = node.initializer;
        if (init && ts.isObjectLiteralExpression(init)) {
          // a table of messages by reason (CREDENTIAL_MESSAGES), not an object that merely has such a name
          for (const p of init.properties)
            if (ts.isPropertyAssignment(p) && /^[A-Z_]+$/.test(nameOf(p.name) ?? '')) add(p, textsOf(p.initializer));
        } else add(node, textsOf(init));
      } else if (ts.isReturnStatement(node)) {
        const fn = ts.findAncestor(node, ts.isFunctionLike);
        if (fn && 'name' in fn && fn.name && /Problem$/.test(nameOf(fn.name) ?? '')) add(node, textsOf(node.expression));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  // `${field} ${message}`-style compositions of texts found elsewhere
  return out.filter((t) => !/^[{} ]*$/.test(t.text));
}

/** Decorators of class-validator that do not pass their own `message` (so class-validator's own text is shown). */
export function validatorsWithDefaultMessage(root: string): Array<{ where: string; name: string }> {
  const out: Array<{ where: string; name: string }> = [];
  for (const file of filesUnder(join(root, 'src'))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const validators = new Set<string>();
    for (const statement of source.statements) {
      const bindings = ts.isImportDeclaration(statement) && statement.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings) && (statement.moduleSpecifier as ts.StringLiteral).text === 'class-validator') {
        for (const element of bindings.elements) validators.add(element.name.text);
      }
    }
    const visit = (node: ts.Node): void => {
      if (ts.isDecorator(node) && ts.isCallExpression(node.expression)) {
        const name = nameOf(node.expression.expression) ?? '';
        const hasMessage = node.expression.arguments.some(
          (a) => ts.isObjectLiteralExpression(a) && a.properties.some((p) => p.name && nameOf(p.name) === 'message'),
        );
        if (validators.has(name) && !hasMessage) {
          const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          out.push({ where: `${relative(root, file)}:${line}`, name });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
}
