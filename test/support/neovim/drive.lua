-- Run by test/lsp/neovim.test.ts after init.lua opened a .jsonl file: waits for the worker's
-- diagnostics, asks for hovers on the lines in WINNOW_HOVER_LINES (0-based, comma-separated),
-- writes what Neovim got as JSON to WINNOW_RESULT, and quits. Every wait has a limit, so a
-- failure still writes a result for the test to report.
local bufnr = vim.api.nvim_get_current_buf()
local result = { diagnostics = {}, hovers = {}, clients = {} }

result.diagnosticsArrived = vim.wait(30000, function()
  return #vim.diagnostic.get(bufnr) > 0
end, 50)
for _, d in ipairs(vim.diagnostic.get(bufnr)) do
  table.insert(result.diagnostics, {
    lnum = d.lnum, col = d.col, end_col = d.end_col, severity = d.severity,
    message = d.message, source = d.source,
  })
end
local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr })
  or vim.lsp.buf_get_clients(bufnr)
for _, client in pairs(clients) do
  table.insert(result.clients, client.name)
end

for line in string.gmatch(os.getenv('WINNOW_HOVER_LINES') or '', '[^,]+') do
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    position = { line = tonumber(line), character = 0 },
  }
  local responses, err = vim.lsp.buf_request_sync(bufnr, 'textDocument/hover', params, 20000)
  local hover = { line = tonumber(line), error = err }
  for _, response in pairs(responses or {}) do
    -- Neovim 0.7 names the error `error`, 0.8+ `err`.
    local rerr = response.err or response.error
    if rerr then hover.error = rerr.message end
    if response.result and response.result.contents then
      hover.kind = response.result.contents.kind
      hover.value = response.result.contents.value
    end
  end
  table.insert(result.hovers, hover)
end

local file = assert(io.open(os.getenv('WINNOW_RESULT'), 'w'))
file:write(vim.fn.json_encode(result))
file:close()
vim.cmd('qa!')
