// The answer editor's preview: the same allow-list the server applies (p, br, ul, ol, li, b, strong, em, i,
// links to http(s) only), built from a parsed copy — never the raw text — so the preview cannot run script.
// The server sanitises again on save (lingxi.knowledge.richtext); what reviewers see is the stored HTML.

const ALLOWED = new Set(['P', 'BR', 'UL', 'OL', 'LI', 'B', 'STRONG', 'EM', 'I', 'A'])
const DROPPED_WITH_CONTENT = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT', 'NOSCRIPT', 'TEXTAREA'])
const TAG = /<\/?[a-zA-Z][^>]*>/

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Plain text (no tag) becomes paragraphs and line breaks, as on the server. */
export function textToHtml(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${p.split('\n').map((line) => escapeHtml(line.trim())).join('<br>')}</p>`)
    .join('')
}

function copyNode(node: Node, into: Element, doc: Document): void {
  if (node.nodeType === Node.TEXT_NODE) {
    into.appendChild(doc.createTextNode(node.textContent ?? ''))
    return
  }
  if (node.nodeType !== Node.ELEMENT_NODE) return
  const element = node as Element
  if (DROPPED_WITH_CONTENT.has(element.tagName)) return
  let target = into
  if (ALLOWED.has(element.tagName)) {
    const copy = doc.createElement(element.tagName.toLowerCase())
    if (element.tagName === 'A') {
      const href = (element.getAttribute('href') ?? '').trim()
      if (/^https?:\/\/[^\s/]+/i.test(href)) copy.setAttribute('href', href)
      copy.setAttribute('rel', 'noopener noreferrer nofollow')
      copy.setAttribute('target', '_blank')
    }
    into.appendChild(copy)
    target = copy
  }
  element.childNodes.forEach((child) => copyNode(child, target, doc))
}

export function previewHtml(raw: string): string {
  const source = TAG.test(raw) ? raw : textToHtml(raw)
  const parsed = new DOMParser().parseFromString(`<body>${source}</body>`, 'text/html')
  const out = document.implementation.createHTMLDocument('')
  const root = out.createElement('div')
  parsed.body.childNodes.forEach((child) => copyNode(child, root, out))
  return root.innerHTML
}

/** Toolbar actions on a textarea: wrap the selection or insert a snippet; returns the new text and caret. */
export function wrapSelection(
  text: string,
  start: number,
  end: number,
  before: string,
  after: string,
  placeholder: string,
): { text: string; caret: number } {
  const selected = text.slice(start, end) || placeholder
  const next = text.slice(0, start) + before + selected + after + text.slice(end)
  return { text: next, caret: start + before.length + selected.length + after.length }
}
