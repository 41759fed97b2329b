/**
 * The report's HTML template: interpolated text is escaped, fragments built by it are kept, arrays are joined.
 */
import assert from 'node:assert/strict';
import { escapeHtml, html, table } from '../../ts/report/html';

describe('report html template', () => {
  it('escapes interpolated text and attribute values', () => {
    const name = '<script>alert("x")</script> & \'q\'';
    assert.equal(
      html`<p title="${name}">${name}</p>`.text,
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;</p>',
    );
    assert.equal(escapeHtml('a&b'), 'a&amp;b');
  });

  it('keeps nested fragments, joins arrays, drops null', () => {
    assert.equal(html`<ul>${['a<', 'b'].map((x) => html`<li>${x}</li>`)}${null}</ul>`.text, '<ul><li>a&lt;</li><li>b</li></ul>');
  });

  it('builds a table with one cell per value', () => {
    const text = table(['set', 'λ'], [['B', 1], ['<i>', 2]]).text;
    assert.equal((text.match(/<td>/g) ?? []).length, 4);
    assert.match(text, /<td>&lt;i&gt;<\/td>/);
  });
});
