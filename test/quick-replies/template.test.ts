import fc from 'fast-check';
import { fillTemplate } from '../../src/modules/quick-replies/quick-reply.template';

const values = { customerName: '李女士', agentName: '小王' };

describe('fillTemplate', () => {
  it('fills {customerName} and {agentName}, every time they occur', () => {
    expect(fillTemplate('您好{customerName}，我是客服{agentName}。{customerName}，还有其他问题吗？', values)).toBe(
      '您好李女士，我是客服小王。李女士，还有其他问题吗？',
    );
    expect(fillTemplate('{agentName}{agentName}', values)).toBe('小王小王');
    expect(fillTemplate('no placeholders at all', values)).toBe('no placeholders at all');
    expect(fillTemplate('', values)).toBe('');
  });

  it('leaves unknown, misspelt and half placeholders as they are', () => {
    expect(fillTemplate('订单号 {orderNo}，{CustomerName} {customername} { customerName } {customerName {agentName', values)).toBe(
      '订单号 {orderNo}，{CustomerName} {customername} { customerName } {customerName {agentName',
    );
    expect(fillTemplate('{{customerName}}', values)).toBe('{李女士}');
    expect(fillTemplate('{customer{agentName}Name}', values)).toBe('{customer小王Name}');
  });

  it('inserts values literally: no $ patterns, no second round of filling', () => {
    expect(fillTemplate('Hi {customerName}', { customerName: "$& $1 $$ $` $'", agentName: 'x' })).toBe("Hi $& $1 $$ $` $'");
    expect(fillTemplate('{customerName} / {agentName}', { customerName: '{agentName}', agentName: '{customerName}' })).toBe(
      '{agentName} / {customerName}',
    );
    // Halves of a placeholder in two values do not join into one.
    expect(fillTemplate('{customerName}{agentName}', { customerName: '{agent', agentName: 'Name}' })).toBe('{agentName}');
  });

  const placeholder = fc.constantFrom('{customerName}', '{agentName}');
  /** Text that may look like a placeholder, or parts of one, or be one. */
  const tricky = fc.oneof(
    fc.string(),
    fc.constantFrom('{', '}', '$&', '$1', '{customer', 'Name}', '{orderNo}', '{customerName}', '{agentName}', '客户'),
  );
  const value = fc.array(tricky, { maxLength: 6 }).map((parts) => parts.join(''));
  /** Plain text with no braces, so pieces never join into a placeholder. */
  const plain = fc.string().map((s) => s.replace(/[{}]/g, ''));

  it('property: the result is the template with each placeholder replaced by its value, values never expanded', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(plain, placeholder), { maxLength: 12 }), value, value, (parts, customerName, agentName) => {
        const expected = parts.map((p) => (p === '{customerName}' ? customerName : p === '{agentName}' ? agentName : p)).join('');
        expect(fillTemplate(parts.join(''), { customerName, agentName })).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('property: for any content, the length changes by exactly the placeholders found in the content', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(tricky, placeholder), { maxLength: 12 }), value, value, (parts, customerName, agentName) => {
        const content = parts.join('');
        const customers = content.match(/\{customerName\}/g)?.length ?? 0;
        const agents = content.match(/\{agentName\}/g)?.length ?? 0;
        const filled = fillTemplate(content, { customerName, agentName });
        expect(filled.length).toBe(
          content.length + customers * (customerName.length - '{customerName}'.length) + agents * (agentName.length - '{agentName}'.length),
        );
        // Expanding a placeholder inside an inserted value would change the length; with none in the content nothing changes.
        if (customers + agents === 0) expect(filled).toBe(content);
      }),
      { numRuns: 500 },
    );
  });
});
