import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** A text in src/ that reaches a reader in one language only. */
export interface SingleLanguageText {
  where: string;
  text: string;
  why: 'chinese-literal' | 'literal-notification' | 'literal-system-message' | 'literal-page-text' | 'literal-stored-text';
}

/**
 * Files whose Chinese literals are data, not messages: the classifier's and routing's vocabularies, the default
 * category names that are keys of configuration. The catalogue and translation tables (src/platform/i18n) hold
 * the texts themselves.
 */
export const CHINESE_DATA_FILES: Record<string, string> = {
  'src/modules/knowledge/lexicon.ts': 'the FAQ lexicon (synonyms, typos)',
  'src/modules/knowledge/classifier.ts': 'sentiment words and Chinese punctuation',
  'src/modules/knowledge/segmenter.ts': 'words of the segmenter’s dictionary',
  'src/modules/conversations/queue-policy.ts': 'the built-in priority keywords',
  'src/modules/tickets/ticket.settings.ts': 'the built-in ticket categories (configuration keys)',
  'src/modules/quick-replies/quick-reply.entity.ts': 'the default quick-reply category (a stored key)',
};

/** Calls whose argument is a text stored into a customer's conversation (argument index). */
const SYSTEM_MESSAGE_CALLS: Record<string, number> = { systemMessage: 2 };
/** Calls that create notifications (their object argument's `title` and `body`). */
const NOTIFICATION_CALLS = new Set(['notify', 'flagNegative']);

/** Properties whose text is shown to readers later (rendered from a catalogue message when read). */
const STORED_TEXT_PROPERTIES = new Set(['disabledReason']);
/** Words between HTML tags in a literal (`<th>Time</th>`): a page's label, which belongs in the catalogue. */
const PAGE_TEXT = /<[a-z][a-z0-9]*(?:\s[^<>]*)?>[^<>{}]*[A-Za-z]{2,}[^<>{}]*<\//;

const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;
/** A literal's fixed text says something in some language (not just punctuation, separators or a code). */
const WORDS = /[A-Za-z]{2,}|[\u3400-\u9fff]/;

const nameOf = (node: ts.Node): string | undefined =>
  ts.isIdentifier(node) ? node.text : ts.isPropertyAccessExpression(node) ? node.name.text : undefined;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The fixed text of a literal or template (`${…}` as `{}`), or null for any other expression. */
function literalText(node: ts.Node): string | null {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text + node.templateSpans.map((s) => `{}${s.literal.text}`).join('');
  return null;
}

/** Literal texts an expression can be, through `?:`, `??`, `||` and parentheses. */
function literalsOf(node: ts.Expression): Array<{ node: ts.Node; text: string }> {
  if (ts.isParenthesizedExpression(node)) return literalsOf(node.expression);
  if (ts.isConditionalExpression(node)) return [...literalsOf(node.whenTrue), ...literalsOf(node.whenFalse)];
  if (ts.isBinaryExpression(node) && [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken].includes(node.operatorToken.kind))
    return [...literalsOf(node.left), ...literalsOf(node.right)];
  const text = literalText(node);
  return text === null ? [] : [{ node, text }];
}

/** A literal that documents the schema or configuration (`description: '… e.g. 技术支持'`), not a message. */
function isDocumentation(node: ts.Node): boolean {
  const parent = node.parent;
  return ts.isPropertyAssignment(parent) && ['description', 'desc'].includes(nameOf(parent.name) ?? '');
}

/**
 * Single-language texts in one source file: any literal with Chinese in it (outside the data files), and
 * literal titles, bodies, system messages, page labels and stored reasons (English or Chinese) where a catalogue
 * message belongs.
 */
export function scanSource(path: string, code: string): SingleLanguageText[] {
  const out: SingleLanguageText[] = [];
  const source = ts.createSourceFile(path, code, ts.ScriptTarget.Latest, true);
  const add = (node: ts.Node, text: string, why: SingleLanguageText['why']) =>
    out.push({ where: `${path}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`, text, why });
  const chineseAllowed = path.startsWith('src/platform/i18n/') || path in CHINESE_DATA_FILES;
  const visit = (node: ts.Node): void => {
    const text = literalText(node);
    if (text !== null && CJK.test(text) && !chineseAllowed && !isDocumentation(node)) add(node, text, 'chinese-literal');
    if (text !== null && PAGE_TEXT.test(text)) add(node, text, 'literal-page-text');
    if (ts.isPropertyAssignment(node) && STORED_TEXT_PROPERTIES.has(nameOf(node.name) ?? '')) {
      for (const l of literalsOf(node.initializer)) if (WORDS.test(l.text)) add(l.node, l.text, 'literal-stored-text');
    }
    if (ts.isCallExpression(node)) {
      const name = nameOf(node.expression) ?? '';
      const index = SYSTEM_MESSAGE_CALLS[name];
      const content = index === undefined ? undefined : node.arguments[index];
      if (content) for (const l of literalsOf(content)) if (WORDS.test(l.text)) add(l.node, l.text, 'literal-system-message');
      if (NOTIFICATION_CALLS.has(name)) {
        for (const arg of node.arguments.filter(ts.isObjectLiteralExpression)) {
          for (const p of arg.properties) {
            if (!ts.isPropertyAssignment(p) || !['title', 'body'].includes(nameOf(p.name) ?? '')) continue;
            for (const l of literalsOf(p.initializer)) if (WORDS.test(l.text)) add(l.node, l.text, 'literal-notification');
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Every single-language text in src/. */
export function scanMessageTexts(root: string): SingleLanguageText[] {
  return filesUnder(join(root, 'src')).flatMap((file) => scanSource(relative(root, file), readFileSync(file, 'utf8')));
}
