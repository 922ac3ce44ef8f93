/**
 * A run's note as HTML that cannot run anything: markdown-it with raw HTML off (a `<script>` or an
 * `<img onerror>` in a note shows as the text it is), and links and images only to http, https
 * and mailto addresses (a `javascript:` link stays text). Links open in a new tab, without the
 * page as their opener.
 */
import MarkdownIt from 'markdown-it';

const SAFE_URL = /^(https?:|mailto:)/i;

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
md.validateLink = (url: string) => SAFE_URL.test(url.trim());

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx].attrSet('target', '_blank');
  tokens[idx].attrSet('rel', 'noopener noreferrer nofollow');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(text: string): string {
  return md.render(text);
}
