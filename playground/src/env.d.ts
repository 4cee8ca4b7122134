// Types of `import init from './x.wasm?asyncify'`. A project that installs the
// package can list "unplugin-asyncify/client" in compilerOptions.types instead;
// the playground lives inside the package, where only an import resolves it.
import type {} from 'unplugin-asyncify/client'
