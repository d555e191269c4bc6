// Runs before every test file.
import '../../functions/local/polyfills.js';
