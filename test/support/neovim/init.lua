-- A minimal Neovim configuration that attaches the Winnow worker (LSP over stdio) to .jsonl and
-- .ndjson files. test/lsp/neovim.test.ts starts `nvim --headless -u` this file; it is also a
-- working example (the README's snippet is the same, for your own init.lua).
--
-- WINNOW_WORKER: path to dist/worker.js (default: ./dist/worker.js)
-- WINNOW_NODE:   the node executable (default: node on PATH)
-- Works on Neovim 0.7 (Debian 12) and newer: vim.lsp.start where it exists (0.8+), else
-- vim.lsp.start_client and vim.lsp.buf_attach_client.
local worker = os.getenv('WINNOW_WORKER') or (vim.fn.getcwd() .. '/dist/worker.js')
local node = os.getenv('WINNOW_NODE') or 'node'

local config = {
  name = 'winnow',
  cmd = { node, worker, '--stdio' },
  root_dir = vim.fn.getcwd(),
  -- The `winnow` section: the keys of VS Code's winnow.* settings without the prefix.
  init_options = { winnow = { diagnostics = { maxProblems = 1000 } } },
  -- What the worker gets when it asks for workspace/configuration (section `winnow`).
  settings = { winnow = {} },
}

local function attach(bufnr)
  if vim.lsp.start then
    vim.lsp.start(config, { bufnr = bufnr })
  else
    local id = vim.lsp.start_client(config)
    if id then vim.lsp.buf_attach_client(bufnr, id) end
  end
end

vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
  pattern = { '*.jsonl', '*.ndjson' },
  callback = function(args) attach(args.buf) end,
})
