// A 2026-07-28-only MCP server built on the TypeScript SDK v2
// (@modelcontextprotocol/server), started with legacy:'reject': it answers
// initialize with the unsupported-version error and serves only requests
// that carry the per-request envelope. Tests use it as a modern backend.
//   node modern_server.mjs [name]
import { McpServer, inputRequired, acceptedContent } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import * as z from 'zod';

const name = process.argv[2] ?? 'modern';

serveStdio(
  () => {
    const server = new McpServer(
      { name: `modern-${name}`, version: '2.0.0' },
      { capabilities: { tools: { listChanged: true }, resources: {}, prompts: {} },
        instructions: `modern server ${name}` }
    );
    server.registerTool(
      'echo',
      { description: 'Echoes its text', inputSchema: z.object({ text: z.string() }) },
      async ({ text }) => ({
        content: [{ type: 'text', text }],
      })
    );
    server.registerTool(
      'whoami',
      { description: 'Reports the envelope it was called with', inputSchema: z.object({}) },
      async (_args, ctx) => ({
        content: [{ type: 'text', text: JSON.stringify({
          envelope: ctx.mcpReq?.envelope ?? null,
          meta: ctx.mcpReq?._meta ?? null,
        }) }],
      })
    );
    server.registerTool(
      'confirm',
      { description: 'Asks the user to confirm, through an input-required round',
        inputSchema: z.object({ action: z.string() }) },
      async ({ action }, ctx) => {
        const schema = z.object({ confirm: z.boolean() });
        const got = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', schema);
        if (got === undefined)
          return inputRequired({
            inputRequests: {
              confirm: inputRequired.elicit({ message: `Really ${action}?`, requestedSchema: schema }),
            },
          });
        return { content: [{ type: 'text', text: got.confirm ? `${action}: done` : `${action}: declined` }] };
      }
    );
    server.registerTool(
      'grow',
      { description: 'Adds a tool named by its argument (tools list_changed)',
        inputSchema: z.object({ tool: z.string() }) },
      async ({ tool }) => {
        server.registerTool(tool, { description: 'added by grow', inputSchema: z.object({}) },
          async () => ({ content: [{ type: 'text', text: `${tool} ran` }] }));
        return { content: [{ type: 'text', text: `added ${tool}` }] };
      }
    );
    server.registerResource(
      'note', 'note://one', { mimeType: 'text/plain' },
      async (uri) => ({ contents: [{ uri: uri.href, text: `note from ${name}` }] })
    );
    server.registerPrompt(
      'greet', { description: 'Greets', argsSchema: z.object({ who: z.string() }) },
      async ({ who }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `hello ${who}` } }] })
    );
    return server;
  },
  { legacy: 'reject' }
);
